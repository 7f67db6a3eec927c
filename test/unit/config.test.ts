import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {DEFAULTS, loadConfig, retryDelayMs, selectModel} from '../../src/config/index.js'
import {LlmfragError} from '../../src/errors.js'

const EXAMPLE = 'examples/config/production.json'
const EXAMPLE_ENV = 'examples/.env.production'

function configError(fn: () => unknown): LlmfragError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal('CONFIG')
    return err as LlmfragError
  }
  return expect.fail('expected a CONFIG error')
}

describe('config loader', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'llmfrag-config-')) })
  after(() => rmSync(dir, {recursive: true, force: true}))

  /** Writes a config document to a scratch file and returns its path. */
  const file = (name: string, doc: unknown): string => {
    const path = join(dir, name)
    writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc))
    return path
  }

  it('loads the example config: the seed shape with every section', () => {
    const c = loadConfig({file: EXAMPLE, env: {}, cwd: '/srv/llm'})
    expect(Object.keys(c.models)).to.deep.equal(['magistral', 'mistral_7b'])
    expect(c.models.magistral).to.deep.equal({
      name: 'magistral', architecture: 'magistral', fragments_dir: '/srv/llm/fragments/magistral',
      use_binary: true, use_compression: false, collect_metrics: true,
    })
    expect(c.default_model).to.equal('magistral')
    expect(c.network).to.deep.equal({timeout: 30, retry_attempts: 3, retry_backoff: 1})
    expect(c.monitoring.alert_thresholds.error_rate).to.equal(0.05)
    expect(c.server).to.deep.equal({port: 8080, host: '127.0.0.1'})
    expect(c.sources).to.deep.equal({file: EXAMPLE, overrides: []})
  })

  it('fills defaults for a minimal file and for no file at all', () => {
    const c = loadConfig({file: file('min.json', {models: {m: {model: 'x.gguf', architecture: 'auto'}}}), env: {}, cwd: '/w'})
    expect(c.models.m).to.deep.equal({name: 'm', architecture: 'auto', model: '/w/x.gguf', ...DEFAULTS.model})
    expect(c.default_model).to.equal('m')
    expect(c.monitoring).to.deep.equal(DEFAULTS.monitoring)
    const none = loadConfig({env: {}})
    expect(none.models).to.deep.equal({})
    expect(none.default_model).to.equal(undefined)
    expect(none.network).to.deep.equal(DEFAULTS.network)
    expect(none.environment).to.equal('production')
    expect(none.log_level).to.equal('info')
  })

  it('quotes the JSON path of a schema violation', () => {
    const bad = file('production.json', {models: {magistral: {fragments_dir: 42, architecture: 'magistral'}}})
    const e = configError(() => loadConfig({file: bad, env: {}}))
    expect(e.message).to.equal(`${bad}: /models/magistral/fragments_dir: must be string`)
    expect(e.hints.join(' ')).to.match(/examples\/config\/production\.json/)
  })

  it('names unknown properties, missing fields, bad enums and out-of-range numbers', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{network: {timeout: 30, retries: 2}}, /: \/network: has an unknown property "retries"$/],
      [{models: {m: {fragments_dir: 'd'}}}, /: \/models\/m: is missing the property "architecture"$/],
      [{models: {m: {architecture: 'magistral'}}}, /: \/models\/m: needs fragments_dir or model$/],
      [{log_level: 'verbose'}, /: \/log_level: must be one of "error", "warn", "info", "debug"$/],
      [{monitoring: {alert_thresholds: {error_rate: 2}}}, /: \/monitoring\/alert_thresholds\/error_rate: must be <= 1$/],
      [{server: {port: 70000}}, /: \/server\/port: must be <= 65535$/],
      [{network: {timeout: 0}}, /: \/network\/timeout: must be > 0$/],
      [{models: {'../x': {model: 'a', architecture: 'auto'}}}, /: \/models: has a property with a bad name "..\/x"/],
      [[], /: \/: must be object$/],
    ]
    for (const [doc, pattern] of cases) expect(configError(() => loadConfig({file: file('c.json', doc), env: {}})).message).to.match(pattern)
  })

  it('reports every schema problem in details and counts the rest in the message', () => {
    const e = configError(() => loadConfig({file: file('two.json', {server: {port: 'x', host: 3}}), env: {}}))
    expect(e.details.problems).to.deep.equal(['/server/port: must be integer', '/server/host: must be string'])
    expect(e.message).to.match(/\/server\/port: must be integer \(and 1 more: \/server\/host: must be string\)$/)
  })

  it('checks what the schema cannot: the architecture names and default_model', () => {
    const arch = configError(() => loadConfig({file: file('a.json', {models: {m: {model: 'a', architecture: 'llama_70b'}}}), env: {}}))
    expect(arch.message).to.match(/: \/models\/m\/architecture: must be one of "magistral", "mistral_7b", "auto", got "llama_70b"$/)
    const def = configError(() => loadConfig({file: file('d.json', {default_model: 'toString', models: {m: {model: 'a', architecture: 'auto'}}}), env: {}}))
    expect(def.message).to.match(/: \/default_model: names no model under \/models: "toString"$/)
  })

  it('refuses a file that is not JSON, and a missing file with an IO error', () => {
    expect(configError(() => loadConfig({file: file('broken.json', '{"models": {,}}'), env: {}})).message).to.match(/broken\.json: not valid JSON: /)
    const missing = (() => { try { loadConfig({file: join(dir, 'nope.json'), env: {}}) } catch (e) { return e } })() as LlmfragError
    expect(missing.code).to.equal('IO')
    expect(missing.message).to.match(/nope\.json: no such file or directory$/)
  })

  it('lets the environment override the file', () => {
    const c = loadConfig({file: EXAMPLE, cwd: '/srv', env: {
      ENVIRONMENT: 'Staging', LOG_LEVEL: 'DEBUG', MAGISTRAL_FRAGMENTS: '/data/mag', MISTRAL_7B_FRAGMENTS: 'frag/m7',
      NETWORK_TIMEOUT: '2.5', MAX_RETRIES: '0', METRICS_ENABLED: 'no', METRICS_PORT: '0', UNRELATED: 'x',
    }})
    expect(c.environment).to.equal('staging')
    expect(c.log_level).to.equal('debug')
    expect(c.models.magistral.fragments_dir).to.equal('/data/mag')
    expect(c.models.mistral_7b.fragments_dir).to.equal('/srv/frag/m7')
    expect(c.models.mistral_7b.use_compression).to.equal(true) // the rest of the entry is kept
    expect(c.network).to.deep.equal({timeout: 2.5, retry_attempts: 0, retry_backoff: 1})
    expect([c.monitoring.enabled, c.monitoring.metrics_port, c.monitoring.metrics_interval]).to.deep.equal([false, 0, 10])
    expect(c.sources.overrides).to.deep.equal(['ENVIRONMENT', 'LOG_LEVEL', 'MAGISTRAL_FRAGMENTS', 'MISTRAL_7B_FRAGMENTS',
      'NETWORK_TIMEOUT', 'MAX_RETRIES', 'METRICS_ENABLED', 'METRICS_PORT'])
  })

  it('adds a model for a *_FRAGMENTS variable the file does not name', () => {
    const c = loadConfig({env: {MISTRAL_7B_FRAGMENTS: '/f/m7'}})
    expect(c.models).to.deep.equal({mistral_7b: {name: 'mistral_7b', architecture: 'mistral_7b', fragments_dir: '/f/m7', ...DEFAULTS.model}})
    expect(selectModel(c).name).to.equal('mistral_7b')
  })

  it('names the variable, the expected form and the value when an override is bad', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{NETWORK_TIMEOUT: 'soon'}, /^environment variable NETWORK_TIMEOUT: must be a number of seconds above 0 and at most 86400, got "soon"$/],
      [{NETWORK_TIMEOUT: '-1'}, /NETWORK_TIMEOUT: must be/],
      [{MAX_RETRIES: '2.5'}, /^environment variable MAX_RETRIES: must be a whole number from 0 to 100, got "2.5"$/],
      [{METRICS_ENABLED: 'maybe'}, /^environment variable METRICS_ENABLED: must be true or false/],
      [{METRICS_PORT: '99999'}, /^environment variable METRICS_PORT: must be a port number from 0 to 65535, got "99999"$/],
      [{LOG_LEVEL: 'loud'}, /^environment variable LOG_LEVEL: must be one of error, warn, info, debug, got "loud"$/],
      [{ENVIRONMENT: 'prod'}, /^environment variable ENVIRONMENT: must be one of production, staging, development, test/],
    ]
    for (const [env, pattern] of cases) {
      const e = configError(() => loadConfig({env}))
      expect(e.message).to.match(pattern)
      expect(e.hints[0]).to.match(/^\w+ sets /)
    }
    expect(loadConfig({env: {METRICS_PORT: ''}}).monitoring.metrics_port).to.equal(9090) // empty = unset
  })

  it('loads the example env file, with the process environment winning over it', () => {
    const c = loadConfig({file: EXAMPLE, envFile: EXAMPLE_ENV, cwd: '/srv', env: {METRICS_PORT: '9500', LOG_LEVEL: ''}})
    expect(c.monitoring.metrics_port).to.equal(9500)
    expect(c.log_level).to.equal('info') // set but empty in the process: not taken from the file, so the config's value
    expect(c.models.magistral.fragments_dir).to.equal(resolve('/srv', './fragments/magistral'))
    expect(c.sources.envFile).to.equal(EXAMPLE_ENV)
    expect(c.sources.overrides).to.include.members(['ENVIRONMENT', 'NETWORK_TIMEOUT', 'MAX_RETRIES', 'METRICS_ENABLED', 'METRICS_PORT'])
    const envFile = file('bad.env', 'MAX_RETRIES=lots\n')
    expect(configError(() => loadConfig({envFile, env: {}})).message).to.equal(`environment variable MAX_RETRIES (from ${envFile}): must be a whole number from 0 to 100, got "lots"`)
  })

  it('selects a model by name or the default, naming the known ones when it cannot', () => {
    const c = loadConfig({file: EXAMPLE, env: {}})
    expect(selectModel(c).name).to.equal('magistral')
    expect(selectModel(c, 'mistral_7b').architecture).to.equal('mistral_7b')
    const e = configError(() => selectModel(c, 'constructor'))
    expect(e.message).to.equal(`${EXAMPLE} has no model named "constructor"`)
    expect(e.hints).to.deep.equal(['configured models: magistral, mistral_7b'])
    expect(configError(() => selectModel(loadConfig({env: {}}))).message).to.equal('the configuration names no model')
  })

  it('doubles the retry delay per attempt', () => {
    const n = {timeout: 30, retry_attempts: 3, retry_backoff: 0.5}
    expect([1, 2, 3].map((a) => retryDelayMs(n, a))).to.deep.equal([500, 1000, 2000])
  })
})
