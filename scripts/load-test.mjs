#!/usr/bin/env node
/**
 * Load generator for `llmfrag run --production-mode`, on loopback, bounded in time.
 *
 *   node scripts/load-test.mjs --model test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf
 *     [--concurrency 1,4,20] [--duration 5] [--max-tokens 8] [--requests 1000] [--time-limit 300] [--json]
 *
 * Starts the built CLI server (npm run build first) on ports the OS picks, then for each
 * concurrency level runs that many clients for --duration seconds, each sending completions back to
 * back; reports requests/s, generated tokens/s and p50/p99 latency. Then sends --requests requests
 * (4 clients) and reports the server's RSS (from /metrics) before and after them. Every phase stops
 * at its deadline, and the whole run at --time-limit, whatever the server does. Use it on the tiny
 * fixtures; on a 7B model one request takes seconds.
 */
import {spawn} from 'node:child_process'
import {request} from 'node:http'
import {parseArgs} from 'node:util'

const {values: opts} = parseArgs({
  options: {
    model: {type: 'string'},
    'fragments-dir': {type: 'string'},
    concurrency: {type: 'string', default: '1,4,20'},
    duration: {type: 'string', default: '5'},
    'max-tokens': {type: 'string', default: '8'},
    requests: {type: 'string', default: '1000'},
    'time-limit': {type: 'string', default: '300'},
    json: {type: 'boolean', default: false},
  },
})
if (!opts.model && !opts['fragments-dir']) {
  process.stderr.write('usage: node scripts/load-test.mjs --model FILE | --fragments-dir DIR [--concurrency 1,4,20] [--duration S] [--max-tokens N] [--requests N] [--time-limit S] [--json]\n')
  process.exit(2)
}
const levels = opts.concurrency.split(',').map(Number)
const duration = Number(opts.duration) * 1000
const maxTokens = Number(opts['max-tokens'])
const total = Number(opts.requests)
const deadline = Date.now() + Number(opts['time-limit']) * 1000

const log = (line) => process.stderr.write(line + '\n')

function startServer() {
  const source = opts.model ? ['--model', opts.model] : ['--fragments-dir', opts['fragments-dir']]
  const child = spawn(process.execPath, ['bin/run.js', 'run', '--production-mode', ...source, '--port', '0', '--metrics-port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, LOG_LEVEL: 'warn'},
  })
  return new Promise((resolve, reject) => {
    let err = ''
    const ports = {}
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${err}`)), Math.max(1000, deadline - Date.now()))
    child.stderr.on('data', (chunk) => {
      err += chunk
      for (const m of err.matchAll(/^(api|monitoring) listening on http:\/\/[^:]+:(\d+)/gm)) ports[m[1]] = Number(m[2])
      if (ports.api && ports.monitoring) {
        clearTimeout(timer)
        resolve({child, api: ports.api, monitoring: ports.monitoring})
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${err}`))
    })
  })
}

function post(port, path, body) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const req = request({host: '127.0.0.1', port, method: 'POST', path, headers: {'Content-Type': 'application/json'}}, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        let tokens = 0
        try {
          tokens = JSON.parse(Buffer.concat(chunks).toString('utf8')).usage?.completion_tokens ?? 0
        } catch {}
        resolve({status: res.statusCode, ms: performance.now() - t0, tokens})
      })
    })
    req.on('error', () => resolve({status: 0, ms: performance.now() - t0, tokens: 0}))
    req.end(JSON.stringify(body))
  })
}

async function rss(port) {
  return new Promise((resolve) => {
    request({host: '127.0.0.1', port, path: '/metrics'}, (res) => {
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => resolve(Number(/^llmfrag_memory_bytes\{kind="rss"\} (\S+)$/m.exec(text)?.[1] ?? NaN)))
    }).on('error', () => resolve(NaN)).end()
  })
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

/** `clients` loops sending requests until `until` (ms epoch) or `budget` requests are sent. */
async function phase(port, clients, until, budget = Infinity) {
  const results = []
  let sent = 0
  const started = performance.now()
  await Promise.all(Array.from({length: clients}, async (_, c) => {
    while (Date.now() < Math.min(until, deadline) && sent < budget) {
      sent++
      results.push(await post(port, '/v1/completions', {prompt: `Client ${c} request ${sent}: once upon a time`, max_tokens: maxTokens, seed: sent}))
    }
  }))
  const seconds = (performance.now() - started) / 1000
  const ok = results.filter((r) => r.status === 200)
  const ms = ok.map((r) => r.ms).sort((a, b) => a - b)
  return {
    clients, requests: results.length, ok: ok.length, failed: results.length - ok.length, seconds: round(seconds, 2),
    requestsPerSecond: round(ok.length / seconds, 2), tokensPerSecond: round(ok.reduce((s, r) => s + r.tokens, 0) / seconds, 1),
    p50Ms: round(percentile(ms, 0.5), 1), p99Ms: round(percentile(ms, 0.99), 1),
  }
}

const round = (v, d) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null)
const MiB = 1024 * 1024

const server = await startServer()
const killer = setTimeout(() => {
  log('time limit reached: stopping')
  server.child.kill('SIGKILL')
  process.exit(1)
}, Math.max(0, deadline - Date.now()) + 10_000)
killer.unref()
try {
  log(`server up: api ${server.api}, monitoring ${server.monitoring}; max_tokens ${maxTokens}`)
  await post(server.api, '/v1/completions', {prompt: 'warm up', max_tokens: 1})
  const levelsOut = []
  for (const c of levels) {
    const r = await phase(server.api, c, Date.now() + duration)
    levelsOut.push(r)
    log(`${String(c).padStart(3)} clients: ${r.requestsPerSecond} req/s, ${r.tokensPerSecond} tok/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.ok} ok, ${r.failed} failed in ${r.seconds} s)`)
  }
  const rssBefore = await rss(server.monitoring)
  const soak = await phase(server.api, 4, deadline, total)
  const rssAfter = await rss(server.monitoring)
  log(`${soak.requests} requests (4 clients): ${soak.requestsPerSecond} req/s, ${soak.failed} failed; server RSS ${(rssBefore / MiB).toFixed(1)} MiB before, ${(rssAfter / MiB).toFixed(1)} MiB after`)
  if (soak.requests < total) log(`note: the time limit stopped the soak after ${soak.requests} of ${total} requests`)
  const result = {model: opts.model ?? opts['fragments-dir'], maxTokens, levels: levelsOut, soak: {...soak, rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter}}
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n')
} finally {
  server.child.kill('SIGTERM')
  await new Promise((r) => server.child.once('exit', r))
}
