/**
 * The production server end to end: the built CLI (`node bin/run.js run --production-mode`) on the
 * tiny-mistral fixture, on loopback ports the OS picks (read back from the JSON-lines log on
 * stderr), plus --test-mode and --emergency-fallback; and, in process, the loading phase of
 * /health with the real engine held before its load (so the 503 is seen deterministically).
 */
import {expect} from 'chai'
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {encodeChat, requireChatFormat} from '../../src/chat/format.js'
import {Metadata} from '../../src/gguf/metadata.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {EngineBackend} from '../../src/server/engine-backend.js'
import {startProduction} from '../../src/server/production.js'
import {createTokenizer} from '../../src/tokenizer/index.js'
import {http, json, parsePrometheus, sampleSum, sseEvents, streamedChatText} from '../unit/server-helpers.js'

const MODEL = resolve('test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf')

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((done) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 64 << 20, env: {...process.env, ...env}}, (err, stdout, stderr) => {
      done({code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr})
    })
  })
}

interface Served {
  readonly child: ChildProcess
  readonly apiPort: number
  readonly metricsPort: number
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

/** Starts the CLI server and resolves once the API listens (ports read from the log on stderr). */
function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, ['bin/run.js', 'run', '--production-mode', '--port', '0', '--metrics-port', '0', ...args], {
    env: {...process.env, LOG_LEVEL: 'info', ...env}, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  return new Promise((resolveServed, reject) => {
    const ports: Record<string, number> = {}
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 60_000)
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8')
      // The CLI notes each listening address on stderr (log lines may go to --log-file instead).
      for (const m of err.matchAll(/^(api|monitoring) listening on http:\/\/[^:]+:(\d+)/gm)) ports[m[1]] = Number(m[2])
      if (ports.api !== undefined && ports.monitoring !== undefined) {
        clearTimeout(timer)
        resolveServed({child, apiPort: ports.api, metricsPort: ports.monitoring, stderr: () => err, exited})
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${err}`))
    })
  })
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  expect.fail(`timed out waiting for ${what}`)
}

describe('llmfrag run --production-mode (built CLI, tiny-mistral)', function () {
  this.timeout(120_000)
  let dir: string
  let s: Served
  let logFile: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-server-e2e-'))
    logFile = join(dir, 'server.log')
    // A config naming the model, thresholds and, beside it, alerts.yml with a rule that fires at
    // start-up (uptime below 3 s) and clears by itself: a threshold crossed both ways.
    writeFileSync(join(dir, 'production.json'), JSON.stringify({
      models: {tiny: {model: MODEL, architecture: 'auto'}},
      monitoring: {metrics_interval: 0.2, alert_thresholds: {error_rate: 0.5}},
      server: {port: 8080, host: '127.0.0.1'},
    }))
    writeFileSync(join(dir, 'alerts.yml'), 'alerts:\n  - name: WarmingUp\n    condition: uptime_seconds < 3\n    severity: info\n    notification: log\n')
    s = await serve(['--config', join(dir, 'production.json'), '--log-file', logFile])
  })

  after(async () => {
    if (s && s.child.exitCode === null) {
      s.child.kill('SIGKILL')
      await s.exited
    }
    rmSync(dir, {recursive: true, force: true})
  })

  it('answers /health with the seed fields and /v1/models with the configured name', async () => {
    const h = await json(s.metricsPort, 'GET', '/health')
    expect(h.status).to.equal(200)
    expect(h.body).to.include({architecture: 'llama-family (custom)', models_loaded: 2, error_rate: 0})
    expect(h.body.status).to.be.oneOf(['healthy', 'degraded'])
    expect(h.body.memory_usage).to.be.a('number').within(0, 1)
    expect(h.body.uptime).to.be.a('number')
    expect(h.body.alerts).to.be.an('array')
    const models = await json(s.apiPort, 'GET', '/v1/models')
    expect((models.body.data as Array<{id: string}>).map((m) => m.id)).to.deep.equal(['tiny'])
  })

  it('returns the text `llmfrag run` gives for the same prompt and seed', async () => {
    const r = await json(s.apiPort, 'POST', '/v1/completions', {model: 'tiny', prompt: 'Once upon a time', max_tokens: 12, seed: 42})
    expect(r.status).to.equal(200)
    const text = (r.body.choices as Array<{text: string}>)[0].text
    const ref = await cli(['run', '--model', MODEL, '-p', 'Once upon a time', '-n', '12', '--seed', '42', '--json'])
    expect(ref.code).to.equal(0)
    expect(text).to.equal((JSON.parse(ref.stdout) as {text: string}).text)
    expect(text.length).to.be.greaterThan(0)
  })

  it('streams a chat completion with the text `llmfrag run` gives for the chat prompt and seed', async () => {
    const messages = [{role: 'system' as const, content: 'You are terse.'}, {role: 'user' as const, content: 'Name a colour.'}]
    const streamed = await http(s.apiPort, 'POST', '/v1/chat/completions', {messages, max_tokens: 10, seed: 7, stream: true})
    expect(streamed.status).to.equal(200)
    const events = sseEvents(streamed.text)
    expect(events.at(-1)).to.equal('[DONE]')
    const text = streamedChatText(events)
    const tok = createTokenizer(new Metadata(MODEL, readGGUFHeader(MODEL).kv))
    const ids = encodeChat(tok, requireChatFormat(tok), messages)
    const ref = await cli(['run', '--model', MODEL, '--prompt-tokens', ids.join(','), '-n', '10', '--seed', '7', '--json'])
    expect(ref.code).to.equal(0)
    expect(text).to.equal((JSON.parse(ref.stdout) as {text: string}).text)
    const plain = await json(s.apiPort, 'POST', '/v1/chat/completions', {messages, max_tokens: 10, seed: 7})
    expect((plain.body.choices as Array<{message: {content: string}}>)[0].message.content).to.equal(text)
  })

  it('refuses bad requests with 4xx JSON errors and keeps serving', async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ['/v1/chat/completions', '{"messages": [', 400, 'invalid_json'],
      ['/v1/chat/completions', {model: 'tiny'}, 400, 'missing_required_parameter'],
      ['/v1/completions', {model: 'no-such-model', prompt: 'hi'}, 404, 'model_not_found'],
      ['/v1/completions', {prompt: 'word '.repeat(1500)}, 400, 'context_length_exceeded'],
      ['/v1/completions', {prompt: 'hi', max_tokens: -1}, 400, 'invalid_value'],
    ]
    for (const [path, body, status, code] of cases) {
      const r = await json(s.apiPort, 'POST', path, body)
      expect(r.status, code).to.equal(status)
      expect((r.body.error as {code: string; type: string; message: string}).code).to.equal(code)
      const ok = await json(s.apiPort, 'POST', '/v1/completions', {prompt: 'still', max_tokens: 1})
      expect(ok.status).to.equal(200)
    }
  })

  it('serves 20 concurrent clients, each a complete answer', async () => {
    const results = await Promise.all(Array.from({length: 20}, (_, i) => json(s.apiPort, 'POST', '/v1/completions', {prompt: `Client ${i} says`, max_tokens: 4, seed: i, temperature: 0.9})))
    for (const r of results) {
      expect(r.status).to.equal(200)
      const c = (r.body.choices as Array<{finish_reason: string}>)[0]
      expect(r.body.usage).to.include({completion_tokens: 4})
      expect(c.finish_reason).to.equal('length')
    }
  })

  it('frees the slot when a client disconnects mid-stream', async () => {
    const before = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
    await new Promise<void>((done, fail) => {
      const req = request({host: '127.0.0.1', port: s.apiPort, method: 'POST', path: '/v1/completions', agent: false, headers: {'Content-Type': 'application/json'}}, (res) => {
        res.once('data', () => {
          req.destroy()
          done()
        })
      })
      req.on('error', () => {})
      req.end(JSON.stringify({prompt: 'A long story', max_tokens: 900, stream: true}))
      setTimeout(() => fail(new Error('no first chunk')), 20_000).unref()
    })
    const next = await json(s.apiPort, 'POST', '/v1/completions', {prompt: 'Next', max_tokens: 2})
    expect(next.status).to.equal(200)
    const after = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
    const closed = sampleSum(after.samples, 'llmfrag_requests_total', {status: '499'}) - sampleSum(before.samples, 'llmfrag_requests_total', {status: '499'})
    expect(closed).to.equal(1)
    const generated = sampleSum(after.samples, 'llmfrag_generated_tokens_total') - sampleSum(before.samples, 'llmfrag_generated_tokens_total')
    // The abandoned stream stopped at the disconnect instead of running its 900 tokens.
    expect(generated - 2).to.be.lessThan(900)
  })

  it('moves the /metrics counters with requests', async () => {
    const a = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
    await json(s.apiPort, 'POST', '/v1/completions', {prompt: 'Count', max_tokens: 3})
    await json(s.apiPort, 'POST', '/v1/completions', {prompt: 'x', max_tokens: 0})
    const b = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
    const d = (name: string, labels: Record<string, string> = {}): number => sampleSum(b.samples, name, labels) - sampleSum(a.samples, name, labels)
    expect(d('llmfrag_requests_total', {status: '200'})).to.equal(1)
    expect(d('llmfrag_requests_total', {status: '400'})).to.equal(1)
    expect(d('llmfrag_generated_tokens_total', {model: 'tiny'})).to.equal(3)
    expect(d('llmfrag_prompt_tokens_total', {model: 'tiny'})).to.be.greaterThan(0)
    expect(sampleSum(b.samples, 'llmfrag_ms_per_token')).to.be.greaterThan(0)
    expect(sampleSum(b.samples, 'llmfrag_architecture_mismatches_total')).to.equal(0)
  })

  it('logs an alert firing and clearing, and stops on SIGTERM after finishing', async () => {
    await until('the WarmingUp alert to clear', async () => readFileSync(logFile, 'utf8').includes('"msg":"alert resolved","component":"alerts","alert":"WarmingUp"'))
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {msg: string; alert?: string; level: string})
    expect(lines.filter((l) => l.alert === 'WarmingUp').map((l) => l.msg)).to.deep.equal(['alert firing', 'alert resolved'])
    expect(((await json(s.metricsPort, 'GET', '/health')).body.alerts as unknown[]).length).to.equal(0)

    const inFlight = json(s.apiPort, 'POST', '/v1/completions', {prompt: 'Finish this', max_tokens: 30})
    await new Promise((r) => setTimeout(r, 100))
    s.child.kill('SIGTERM')
    const r = await inFlight
    expect(r.status).to.equal(200)
    expect(r.body.usage).to.include({completion_tokens: 30})
    expect(await s.exited).to.equal(0)
    const log = readFileSync(logFile, 'utf8')
    expect(log).to.include('"msg":"stopping","reason":"SIGTERM"')
    expect(log).to.include('"msg":"stopped","reason":"SIGTERM"')
  })
})

describe('llmfrag run --test-mode and --emergency-fallback (built CLI)', function () {
  this.timeout(120_000)
  let dir: string
  let broken: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-modes-e2e-'))
    broken = join(dir, 'broken.gguf')
    copyFileSync(MODEL, broken)
    truncateSync(broken, 1_000_000) // the header survives, the tensor data does not
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('--test-mode verifies, loads and generates, reporting ok', async () => {
    const r = await cli(['run', '--test-mode', '--model', MODEL, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const report = JSON.parse(r.stdout) as {ok: boolean; models: Array<{steps: Array<{name: string; ok: boolean}>; generation: {tokens: number}}>}
    expect(report.ok).to.equal(true)
    expect(report.models[0].steps.map((st) => st.name)).to.include.members(['load', 'generate'])
    expect(report.models[0].generation.tokens).to.equal(8)
  })

  it('--test-mode takes --relaxed-simd and --no-relaxed-simd (the load step names the kernels); with --safe-mode --relaxed-simd is a usage error', async () => {
    for (const [flag, kernels] of [['--relaxed-simd', 'fast (relaxed SIMD) kernels'], ['--no-relaxed-simd', 'fast kernels']]) {
      const r = await cli(['run', '--test-mode', '--model', MODEL, flag, '--json'])
      expect(r.code, r.stderr).to.equal(0)
      const report = JSON.parse(r.stdout) as {models: Array<{steps: Array<{name: string; detail: string}>}>}
      expect(report.models[0].steps.find((st) => st.name === 'load')?.detail, flag).to.include(`, ${kernels}, `)
    }
    const both = await cli(['run', '--test-mode', '--model', MODEL, '--relaxed-simd', '--safe-mode'])
    expect(both.code).to.equal(2)
    expect(both.stderr).to.include('--relaxed-simd and --safe-mode exclude each other')
  })

  it('--test-mode fails with exit 1 on a damaged model', async () => {
    const r = await cli(['run', '--test-mode', '--model', broken])
    expect(r.code).to.equal(1)
    expect(r.stderr).to.match(/❌ verify/)
    expect(r.stderr).to.include('test mode: failed')
  })

  it('--emergency-fallback serves the next configured model when the first fails, and says so', async () => {
    const config = join(dir, 'fallback.json')
    writeFileSync(config, JSON.stringify({
      default_model: 'broken',
      models: {broken: {model: broken, architecture: 'auto'}, tiny: {model: MODEL, architecture: 'auto'}},
    }))
    const served = await serve(['--config', config, '--single-architecture-mode', '--emergency-fallback'])
    try {
      const h = await json(served.metricsPort, 'GET', '/health')
      expect(h.body.status).to.equal('degraded')
      expect((h.body.models as Array<{id: string}>).map((m) => m.id)).to.deep.equal(['tiny'])
      expect((h.body.fallbacks as Array<{failed: string}>).map((f) => f.failed)).to.include('broken')
      expect(served.stderr()).to.include('"msg":"emergency fallback: trying the next configured model"')
      const r = await json(served.apiPort, 'POST', '/v1/completions', {prompt: 'Hello', max_tokens: 2})
      expect(r.status).to.equal(200)
    } finally {
      served.child.kill('SIGTERM')
      expect(await served.exited).to.equal(0)
    }
  })

  it('without --emergency-fallback a damaged model stops the start-up with exit 2', async () => {
    const r = await cli(['run', '--production-mode', '--model', broken, '--port', '0', '--metrics-port', '0'])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('"msg":"start-up failed"')
    expect(r.stderr).to.match(/^error: .*broken\.gguf/m)
  })
})

describe('production server /health while the real engine loads (in process)', function () {
  this.timeout(60_000)
  it('answers 503 loading until the model is in memory, then 200', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => { release = r })
    let portFound: (port: number) => void = () => {}
    const monitoringPort = new Promise<number>((r) => { portFound = r })
    const p = startProduction({
      modelPath: MODEL, port: 0, metricsPort: 0, env: {},
      backendFor: (m) => {
        const real = new EngineBackend({id: m.id, path: m.path})
        return {
          load: async (onProgress) => { await gate; return real.load(onProgress) },
          prepare: (prompt) => real.prepare(prompt),
          generate: (req) => real.generate(req),
          close: () => real.close(),
        }
      },
      // The monitoring port is noted as soon as it listens, before the model loads.
      note: (line) => {
        const m = /^monitoring listening on http:\/\/[^:]+:(\d+)/.exec(line)
        if (m) portFound(Number(m[1]))
      },
    })
    const metricsPort = await monitoringPort
    const loading = await json(metricsPort, 'GET', '/health')
    expect(loading.status).to.equal(503)
    expect(loading.body.status).to.equal('loading')
    release()
    const prod = await p
    const ready = await json(prod.server.metricsPort, 'GET', '/health')
    expect(ready.status).to.equal(200)
    expect(ready.body).to.include({status: 'healthy', architecture: 'llama-family (custom)', models_loaded: 2})
    await prod.server.stop()
    await prod.logger.close()
  })
})

describe('production server prompt cache (in process, tiny-magistral)', function () {
  this.timeout(120_000)
  const MAGISTRAL = resolve('test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf')
  const system = {role: 'system', content: 'You are a careful assistant. Answer in one short sentence, and never use lists or tables.'}

  async function serveInProcess(promptCacheBytes: number, promptCacheDir?: string): Promise<Awaited<ReturnType<typeof startProduction>>> {
    return startProduction({modelPath: MAGISTRAL, port: 0, metricsPort: 0, env: {}, promptCacheBytes, promptCacheDir})
  }
  const chat = async (port: number, user: string): Promise<string> => {
    const r = await json(port, 'POST', '/v1/chat/completions', {messages: [system, {role: 'user', content: user}], max_tokens: 6, seed: 5})
    expect(r.status).to.equal(200)
    return (r.body.choices as Array<{message: {content: string}}>)[0].message.content
  }
  const cached = async (metricsPort: number): Promise<number> =>
    sampleSum(parsePrometheus((await http(metricsPort, 'GET', '/metrics')).text).samples, 'llmfrag_prompt_tokens_cached_total')

  it('reuses a system prompt across interleaved requests and answers as without the cache; keeps it on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-pcache-e2e-'))
    const plain = await serveInProcess(0)
    const withCache = await serveInProcess(64 << 20, dir)
    try {
      await chat(withCache.apiPort, 'What is a river?')
      // Another prompt takes the engine's KV cache in between.
      await json(withCache.apiPort, 'POST', '/v1/completions', {prompt: 'Something else entirely', max_tokens: 2})
      const before = await cached(withCache.server.metricsPort)
      const answer = await chat(withCache.apiPort, 'And a lake?')
      const reused = (await cached(withCache.server.metricsPort)) - before
      // BOS + [SYSTEM_PROMPT] + the system text + [/SYSTEM_PROMPT] came from the cache.
      expect(reused).to.be.greaterThan(16)
      expect(answer).to.equal(await chat(plain.apiPort, 'And a lake?'))
      expect(await cached(plain.server.metricsPort)).to.equal(0)
      expect(readdirSync(join(dir, 'tiny-magistral-Q4_K_M')).filter((f) => f.endsWith('.lfrm'))).to.have.length(1)
    } finally {
      await withCache.server.stop()
      await withCache.logger.close()
      await plain.server.stop()
      await plain.logger.close()
    }
    // A restarted server starts with the system prompt's cache read back from its frames.
    const again = await serveInProcess(64 << 20, dir)
    try {
      await chat(again.apiPort, 'And the sea?')
      expect(await cached(again.server.metricsPort)).to.be.greaterThan(16)
    } finally {
      await again.server.stop()
      await again.logger.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
