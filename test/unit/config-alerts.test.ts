import {expect} from 'chai'

import {conditionHolds, DEFAULTS, loadAlerts, parseAlerts, parseCondition, thresholdRules} from '../../src/config/index.js'
import {LlmfragError} from '../../src/errors.js'

function alertsError(text: string): string {
  try {
    parseAlerts(text, 'alerts.yml')
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal('CONFIG')
    return (err as LlmfragError).message
  }
  return expect.fail('expected a CONFIG error')
}

describe('alerts.yml', () => {
  it('parses METRIC OP NUMBER conditions, with % meaning hundredths', () => {
    expect(parseCondition('error_rate > 0.01')).to.deep.equal({metric: 'error_rate', op: '>', value: 0.01, text: 'error_rate > 0.01'})
    expect(parseCondition(' memory_usage>=90% ')).to.include({metric: 'memory_usage', op: '>=', value: 0.9})
    expect(parseCondition('ms_per_token<=1.5e3')).to.include({op: '<=', value: 1500})
    expect(parseCondition('queue_depth == 0')).to.include({op: '==', value: 0})
    expect(parseCondition('models_loaded != 40')).to.include({op: '!=', value: 40})
    expect(parseCondition('tokens_per_second < .5')).to.include({op: '<', value: 0.5})
  })

  it('evaluates each comparison', () => {
    const at = (text: string, v: number): boolean => conditionHolds(parseCondition(text), v)
    expect([at('error_rate > 0.01', 0.02), at('error_rate > 0.01', 0.01)]).to.deep.equal([true, false])
    expect([at('queue_depth >= 8', 8), at('queue_depth < 8', 8), at('queue_depth <= 8', 8)]).to.deep.equal([true, false, true])
    expect([at('models_loaded == 40', 40), at('models_loaded != 40', 40)]).to.deep.equal([true, false])
  })

  it('loads the example file', () => {
    const rules = loadAlerts('examples/alerts.yml')
    expect(rules.map((r) => r.name)).to.deep.equal(['HighErrorRate', 'HighMemoryUsage', 'SlowGeneration', 'ArchitectureMismatch', 'RequestBacklog'])
    expect(rules[0]).to.deep.include({severity: 'critical', notification: ['log']})
    expect(rules[0].condition).to.include({metric: 'error_rate', op: '>', value: 0.01})
    expect(rules[1].notification).to.deep.equal(['log', 'email:ops@example.com'])
    expect(rules[1].condition.value).to.equal(0.9)
  })

  it('accepts a bare list and an empty file', () => {
    expect(parseAlerts('- {name: a, condition: "uptime_seconds > 5", severity: info, notification: log}', 'f')).to.have.length(1)
    expect(parseAlerts('', 'f')).to.deep.equal([])
    expect(parseAlerts('alerts:\n', 'f')).to.deep.equal([])
  })

  it('names the rule in every validation error', () => {
    const rule = (fields: string): string => `alerts:\n  - name: ok\n    condition: error_rate > 0.1\n    severity: info\n    notification: log\n  - ${fields}\n`
    expect(alertsError(rule('{name: Bad, condition: "error_rate >> 1", severity: info, notification: log}')))
      .to.match(/^alerts\.yml: alert rule "Bad" \(#2\): condition "error_rate >> 1" is not METRIC OP NUMBER/)
    expect(alertsError(rule('{name: Bad, condition: "errors > 1", severity: info, notification: log}')))
      .to.match(/^alerts\.yml: alert rule "Bad" \(#2\): condition "errors > 1" names an unknown metric "errors"; known: error_rate, /)
    expect(alertsError(rule('{name: Bad, condition: "error_rate > 1", severity: urgent, notification: log}')))
      .to.equal('alerts.yml: alert rule "Bad" (#2): severity must be one of critical, warning, info, got "urgent"')
    expect(alertsError(rule('{name: Bad, condition: "error_rate > 1", severity: info}')))
      .to.match(/^alerts\.yml: alert rule "Bad" \(#2\): notification must be a channel name/)
    expect(alertsError(rule('{condition: "error_rate > 1", severity: info, notification: log}')))
      .to.equal('alerts.yml: alert rule #2: needs a name (a non-empty string)')
    expect(alertsError(rule('{name: Bad, condition: 3, severity: info, notification: log}')))
      .to.match(/^alerts\.yml: alert rule "Bad" \(#2\): needs a condition string/)
    expect(alertsError(rule('{name: Bad, condition: "error_rate > 1", severity: info, notification: log, for: 5m}')))
      .to.match(/^alerts\.yml: alert rule "Bad" \(#2\): has unknown field for \(known: name, condition, severity, notification, description\)$/)
    expect(alertsError(rule('{name: ok, condition: "error_rate > 1", severity: info, notification: log}')))
      .to.equal('alerts.yml: alert rule "ok" (#2): has the same name as rule #1; names must be unique')
    expect(alertsError('alerts:\n  - just a string\n')).to.equal('alerts.yml: alert rule #1: must be a mapping, got "just a string"')
  })

  it('refuses YAML that does not parse and documents that are not a rule list', () => {
    expect(alertsError('alerts: [\n')).to.match(/^alerts\.yml: not valid YAML: /)
    expect(alertsError('rules:\n  - name: x\n')).to.equal('alerts.yml: expected a list of alert rules, or "alerts:" holding one')
  })

  it('turns alert_thresholds into "metric > threshold" rules', () => {
    const rules = thresholdRules(DEFAULTS.monitoring.alert_thresholds)
    expect(rules.map((r) => r.condition.text)).to.deep.equal(['error_rate > 0.05', 'memory_usage > 0.9', 'latency_ms > 30000',
      'ms_per_token > 1000', 'queue_depth > 16', 'architecture_mismatches > 0'])
    expect(rules.every((r) => r.condition.op === '>' && r.severity === 'warning')).to.equal(true)
    expect(conditionHolds(rules[5].condition, 1)).to.equal(true)
  })
})
