import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LlmfragError} from '../../src/errors.js'
import {createLogger, parseLogLevel} from '../../src/log/logger.js'
import {compareSnapshot, snapshotFiles} from '../../src/server/file-snapshot.js'
import {startServer} from '../../src/server/server.js'
import {fakeSpec, http, json, memoryLogger, parsePrometheus, sampleSum, startFake, type FakeBackend} from './server-helpers.js'

describe('server lifecycle (fake backend)', () => {
  it('answers /health 503 loading while the model loads, then 200 with the seed fields', async () => {
    const {logger, lines} = memoryLogger()
    const backends: FakeBackend[] = []
    const server = await startServer({
      models: [fakeSpec({id: 'fake', loadMs: 400, blocks: 40, architecture: 'magistral'}, backends)],
      host: '127.0.0.1', port: 0, metricsPort: 0, logger, alertRules: [], metricsIntervalSeconds: 60,
    })
    try {
      const loading = await json(server.metricsPort, 'GET', '/health')
      expect(loading.status).to.equal(503)
      expect(loading.body.status).to.equal('loading')
      expect(loading.body.uptime).to.be.a('number')
      const port = await server.ready
      const ready = await json(server.metricsPort, 'GET', '/health')
      expect(ready.status).to.equal(200)
      const b = ready.body
      expect(b.status).to.equal('healthy')
      expect(b.architecture).to.equal('magistral')
      expect(b.models_loaded).to.equal(40)
      expect(b.memory_usage).to.be.a('number').within(0, 1)
      expect(b.uptime).to.be.a('number').greaterThan(0.3)
      expect(b.error_rate).to.equal(0)
      expect(b.alerts).to.deep.equal([])
      expect(b.queue).to.include({depth: 0, capacity: 64})
      expect((b.queue as {policy: string}).policy).to.match(/one generation at a time per model/)
      // The API port answers /health too, and the ports were logged.
      expect((await json(port, 'GET', '/health')).status).to.equal(200)
      const listening = lines().filter((l) => l.msg === 'listening')
      expect(listening.map((l) => [l.service, l.port])).to.deep.equal([['monitoring', server.metricsPort], ['api', port]])
    } finally {
      await server.stop()
    }
  })

  it('stops gracefully: the request in flight finishes, new connections are refused, models are closed', async () => {
    const s = await startFake([{id: 'fake', tokenMs: 10}])
    const inFlight = json(s.port, 'POST', '/v1/completions', {prompt: 'finish me', max_tokens: 20})
    await new Promise((r) => setTimeout(r, 50))
    const stopped = s.server.stop('SIGTERM')
    const r = await inFlight
    expect(r.status).to.equal(200)
    expect((r.body.choices as Array<{text: string}>)[0].text.split(' ')).to.have.length(20)
    await stopped
    let refused = false
    await http(s.port, 'GET', '/v1/models').catch(() => { refused = true })
    expect(refused).to.equal(true)
    expect(s.backends[0].closed).to.equal(true)
    expect(s.lines().map((l) => l.msg)).to.include.members(['stopping', 'stopped'])
  })

  it('without emergency fallback, a model that fails to load fails the start-up and /health says so', async () => {
    const {logger} = memoryLogger()
    const server = await startServer({
      models: [fakeSpec({id: 'broken', loadError: new LlmfragError('CHECK_FAILED', 'fragment 3 sha256 mismatch')}, [])],
      host: '127.0.0.1', port: 0, metricsPort: 0, logger, alertRules: [], metricsIntervalSeconds: 60,
    })
    try {
      let err: unknown
      await server.ready.catch((e: unknown) => { err = e })
      expect((err as LlmfragError).message).to.equal('fragment 3 sha256 mismatch')
      const h = await json(server.metricsPort, 'GET', '/health')
      expect(h.status).to.equal(503)
      expect(h.body).to.include({status: 'failed', error: 'fragment 3 sha256 mismatch'})
    } finally {
      await server.stop()
    }
  })

  it('with emergency fallback, serves the next configured model and reports degraded', async () => {
    const backends: FakeBackend[] = []
    const {logger, lines} = memoryLogger()
    const server = await startServer({
      models: [fakeSpec({id: 'magistral', loadError: new LlmfragError('CHECK_FAILED', 'fragment 3 sha256 mismatch')}, backends)],
      backupModels: [fakeSpec({id: 'mistral_7b', blocks: 32}, backends)],
      emergencyFallback: true,
      host: '127.0.0.1', port: 0, metricsPort: 0, logger, alertRules: [], metricsIntervalSeconds: 60,
    })
    try {
      const port = await server.ready
      const models = await json(port, 'GET', '/v1/models')
      expect((models.body.data as Array<{id: string}>).map((m) => m.id)).to.deep.equal(['mistral_7b'])
      const h = await json(server.metricsPort, 'GET', '/health')
      expect(h.body.status).to.equal('degraded')
      expect(h.body.models_loaded).to.equal(32)
      expect(h.body.fallbacks).to.deep.include({failed: 'magistral', reason: 'fragment 3 sha256 mismatch', serving: 'the next configured model, if any'})
      // Both kernels were tried on the broken model before moving on.
      expect(backends).to.have.length(3)
      expect(lines().map((l) => l.msg)).to.include.members(['model failed to load', 'emergency fallback: skipping model', 'emergency fallback: trying the next configured model'])
      const r = await json(port, 'POST', '/v1/completions', {prompt: 'hello', max_tokens: 2})
      expect(r.status).to.equal(200)
    } finally {
      await server.stop()
    }
  })

  it('with emergency fallback, retries a model with the reference kernels', async () => {
    const s = await startFake([{id: 'fake', loadError: new LlmfragError('UNSUPPORTED', 'WebAssembly SIMD is not available'), onlyFastFails: true}], {emergencyFallback: true})
    try {
      const h = await json(s.metricsPort, 'GET', '/health')
      expect(h.body.status).to.equal('degraded')
      expect((h.body.models as Array<{kernels: string}>)[0].kernels).to.equal('reference')
      expect(h.body.fallbacks).to.deep.equal([{failed: 'fake with the fast kernels', reason: 'WebAssembly SIMD is not available', serving: 'fake with the reference kernels'}])
    } finally {
      await s.server.stop()
    }
  })

  it('refuses a model whose architecture is not the configured one, counting the mismatch', async () => {
    const {logger} = memoryLogger()
    const spec = {...fakeSpec({id: 'magistral', architecture: 'mistral_7b'}, []), expectedArchitecture: 'magistral'}
    const server = await startServer({models: [spec], host: '127.0.0.1', port: 0, metricsPort: 0, logger, alertRules: [], metricsIntervalSeconds: 60})
    try {
      let err: unknown
      await server.ready.catch((e: unknown) => { err = e })
      expect((err as LlmfragError).code).to.equal('ARCH_MISMATCH')
      expect((err as LlmfragError).message).to.equal('Architecture mismatch: expected magistral, got mistral_7b')
      const m = parsePrometheus((await http(server.metricsPort, 'GET', '/metrics')).text)
      expect(sampleSum(m.samples, 'llmfrag_architecture_mismatches_total')).to.equal(1)
    } finally {
      await server.stop()
    }
  })

  it('refuses a port in use with an IO error naming it', async () => {
    const s = await startFake()
    try {
      const {logger} = memoryLogger()
      let err: unknown
      await startServer({models: [], host: '127.0.0.1', port: 0, metricsPort: s.metricsPort, logger, alertRules: [], metricsIntervalSeconds: 60})
        .catch((e: unknown) => { err = e })
      expect((err as LlmfragError).code).to.equal('IO')
      expect((err as Error).message).to.equal(`cannot listen on 127.0.0.1:${s.metricsPort}: address in use`)
    } finally {
      await s.server.stop()
    }
  })
})

describe('model self-checks (fake backend)', () => {
  it('runs each health_check_interval, reports a failure in /health (degraded) and the recovery', async () => {
    const s = await startFake([{id: 'fake'}], {healthCheckIntervalSeconds: 0.05})
    try {
      const check = async (): Promise<{status: string; check: {ok: boolean; detail: string | null} | null}> => {
        const h = (await json(s.metricsPort, 'GET', '/health')).body
        return {status: h.status as string, check: (h.models as Array<{check: {ok: boolean; detail: string | null} | null}>)[0].check}
      }
      await until(async () => (await check()).check?.ok === true)
      s.backends[0].problem = 'fragment 3 changed size'
      await until(async () => (await check()).check?.ok === false)
      expect(await check()).to.deep.include({status: 'degraded'})
      expect((await check()).check?.detail).to.equal('fragment 3 changed size')
      s.backends[0].problem = undefined
      await until(async () => (await check()).check?.ok === true)
      expect((await check()).status).to.equal('healthy')
      expect(s.lines().filter((l) => l.model === 'fake' && String(l.msg).startsWith('model health check')).map((l) => l.msg))
        .to.deep.equal(['model health check failed', 'model health check passes again'])
    } finally {
      await s.server.stop()
    }
  })

  it('notices a model file changed, truncated or removed on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-snap-'))
    try {
      const f = join(dir, 'a-00001-of-00002.gguf')
      writeFileSync(f, 'abcd')
      writeFileSync(join(dir, 'manifest.json'), '{}')
      const snap = snapshotFiles(dir)
      expect(compareSnapshot(dir, snap)).to.equal(undefined)
      truncateSync(f, 2)
      expect(compareSnapshot(dir, snap)).to.equal(`${f} changed size since the model was loaded (4 -> 2 bytes)`)
      rmSync(f)
      expect(compareSnapshot(dir, snap)).to.equal(`${f} was removed since the model was loaded`)
      expect(compareSnapshot(join(dir, 'gone'), snapshotFiles(join(dir, 'manifest.json')))).to.match(/gone cannot be read any more: ENOENT/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 20))
  }
  expect.fail('condition not reached')
}

describe('JSON-lines logger', () => {
  it('writes one JSON object per line to a file, at or above its level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-log-'))
    try {
      const file = join(dir, 'server.log')
      const logger = createLogger({level: 'info', file, now: () => new Date(0)})
      logger.debug('hidden')
      logger.info('listening', {port: 8080})
      logger.child({component: 'alerts'}).warn('alert firing', {alert: 'HighErrorRate', error: new LlmfragError('INTERNAL', 'boom')})
      await logger.close()
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)
      expect(lines).to.deep.equal([
        {time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'listening', port: 8080},
        {time: '1970-01-01T00:00:00.000Z', level: 'warn', msg: 'alert firing', component: 'alerts', alert: 'HighErrorRate', error: {name: 'LlmfragError', code: 'INTERNAL', message: 'boom'}},
      ])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('parses LOG_LEVEL values and refuses others naming the variable', () => {
    expect(parseLogLevel('DEBUG')).to.equal('debug')
    expect(parseLogLevel('warning')).to.equal('warn')
    expect(() => parseLogLevel('loud')).to.throw(LlmfragError, 'LOG_LEVEL: must be one of debug, info, warn, error, got "loud"')
  })
})
