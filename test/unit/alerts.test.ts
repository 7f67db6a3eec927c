import {expect} from 'chai'

import {ALERT_METRICS, parseAlerts, parseCondition, thresholdRules, type Severity} from '../../src/config/alerts.js'
import {DEFAULTS} from '../../src/config/types.js'
import {LlmfragError} from '../../src/errors.js'
import {AlertEvaluator, validateAlertRules, type AlertRule} from '../../src/monitoring/alerts.js'
import {ALERT_METRIC_NAMES, ServerMetrics} from '../../src/monitoring/server-metrics.js'
import {http, json, memoryLogger, parsePrometheus, sampleSum, startFake} from './server-helpers.js'

const rule = (name: string, condition: string, severity: Severity = 'warning'): AlertRule =>
  ({name, condition: parseCondition(condition), severity, notification: ['ops-log']})

async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 20))
  }
  expect.fail(`timed out waiting for ${what}`)
}

describe('alert evaluator', () => {
  it('fires when a condition becomes true and resolves when it becomes false, logging both', () => {
    const {logger, lines} = memoryLogger()
    const ev = new AlertEvaluator([rule('HighErrorRate', 'error_rate > 0.01', 'critical'), rule('SlowTokens', 'ms_per_token >= 500')], logger)
    expect(ev.evaluate({error_rate: 0, ms_per_token: 100}, 1000)).to.deep.equal([])
    const fired = ev.evaluate({error_rate: 0.05, ms_per_token: 500}, 2000)
    expect(fired.map((t) => [t.rule.name, t.kind, t.value])).to.deep.equal([['HighErrorRate', 'fired', 0.05], ['SlowTokens', 'fired', 500]])
    expect(ev.firing().map((a) => [a.name, a.since])).to.deep.equal([['HighErrorRate', '1970-01-01T00:00:02.000Z'], ['SlowTokens', '1970-01-01T00:00:02.000Z']])
    // Still true: no new transition.
    expect(ev.evaluate({error_rate: 0.02, ms_per_token: 600}, 3000)).to.deep.equal([])
    // A metric with no value (NaN: nothing generated in the window) leaves its rule as it was.
    const resolved = ev.evaluate({error_rate: 0.001, ms_per_token: NaN}, 5000)
    expect(resolved.map((t) => [t.rule.name, t.kind])).to.deep.equal([['HighErrorRate', 'resolved']])
    expect(ev.firing().map((a) => a.name)).to.deep.equal(['SlowTokens'])
    const logged = lines().map((l) => [l.level, l.msg, l.alert])
    expect(logged).to.deep.equal([
      ['error', 'alert firing', 'HighErrorRate'], ['warn', 'alert firing', 'SlowTokens'], ['info', 'alert resolved', 'HighErrorRate'],
    ])
    expect(lines()[2].firing_seconds).to.equal(3)
    expect(lines()[0]).to.deep.include({notification: ['ops-log'], condition: 'error_rate > 0.01', threshold: 0.01, value: 0.05})
  })

  it('compares with every operator', () => {
    const {logger} = memoryLogger()
    const ops: Array<[string, boolean[]]> = [['>', [false, false, true]], ['>=', [false, true, true]], ['<', [true, false, false]], ['<=', [true, true, false]], ['==', [false, true, false]], ['!=', [true, false, true]]]
    for (const [op, expected] of ops) {
      const got = [1, 2, 3].map((v) => {
        const ev = new AlertEvaluator([rule('r', `queue_depth ${op} 2`)], logger)
        ev.evaluate({queue_depth: v})
        return ev.firing().length === 1
      })
      expect(got, op).to.deep.equal(expected)
    }
  })

  it('measures every metric the config loader lets a condition name', () => {
    const m = new ServerMetrics({queueDepth: () => 3, modelsLoaded: () => 40})
    const values = m.values()
    for (const name of Object.keys(ALERT_METRICS)) expect(values, name).to.have.property(name).that.is.a('number')
    expect(values.queue_depth).to.equal(3)
    expect(values.models_loaded).to.equal(40)
    expect(() => validateAlertRules(thresholdRules(DEFAULTS.monitoring.alert_thresholds), ALERT_METRIC_NAMES)).not.to.throw()
  })

  it('refuses duplicate names across alerts.yml and the thresholds, and metrics the server lacks', () => {
    const fromFile = parseAlerts('- {name: threshold_error_rate, condition: error_rate > 0.5, severity: critical, notification: log}\n', 'alerts.yml')
    expect(() => validateAlertRules([...thresholdRules(DEFAULTS.monitoring.alert_thresholds), ...fromFile], ALERT_METRIC_NAMES))
      .to.throw(LlmfragError, 'alert rule "threshold_error_rate" is defined twice')
    expect(() => validateAlertRules([rule('Up', 'uptime_seconds > 5')], ['error_rate']))
      .to.throw(LlmfragError, 'alert rule "Up": the server does not measure "uptime_seconds" (condition "uptime_seconds > 5")')
  })
})

describe('alerts in the server (fake backend)', () => {
  it('shows a rule crossing its threshold in /health and /metrics, then clears it', async () => {
    const s = await startFake([{id: 'fake'}], {alertRules: parseAlerts('alerts:\n  - name: HighErrorRate\n    condition: error_rate > 0.3\n    severity: critical\n    notification: [log, "email:ops@example.com"]\n', 'alerts.yml'), metricsIntervalSeconds: 0.05})
    try {
      const health = async (): Promise<Record<string, unknown>> => (await json(s.metricsPort, 'GET', '/health')).body
      expect((await health()).alerts).to.deep.equal([])
      expect((await json(s.port, 'POST', '/v1/completions', {prompt: 'FAIL now', max_tokens: 2})).status).to.equal(500)
      await until('the alert to fire', async () => ((await health()).alerts as unknown[]).length === 1)
      const h = await health()
      const alert = (h.alerts as Array<Record<string, unknown>>)[0]
      expect(alert).to.deep.include({name: 'HighErrorRate', severity: 'critical', condition: 'error_rate > 0.3', notification: ['log', 'email:ops@example.com'], firing: true, value: 1, threshold: 0.3})
      expect(h.status).to.equal('degraded')
      const firing = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
      expect(sampleSum(firing.samples, 'llmfrag_alert_firing', {alert: 'HighErrorRate', severity: 'critical'})).to.equal(1)

      for (let i = 0; i < 3; i++) expect((await json(s.port, 'POST', '/v1/completions', {prompt: 'fine', max_tokens: 1})).status).to.equal(200)
      await until('the alert to clear', async () => ((await health()).alerts as unknown[]).length === 0)
      expect((await health()).status).to.equal('healthy')
      const clear = parsePrometheus((await http(s.metricsPort, 'GET', '/metrics')).text)
      expect(sampleSum(clear.samples, 'llmfrag_alert_firing', {alert: 'HighErrorRate'})).to.equal(0)
      const msgs = s.lines().filter((l) => l.alert === 'HighErrorRate').map((l) => l.msg)
      expect(msgs).to.deep.equal(['alert firing', 'alert resolved'])
    } finally {
      await s.server.stop()
    }
  })
})
