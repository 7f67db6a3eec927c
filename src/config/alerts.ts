/**
 * alerts.yml in the seed's form: a list of rules (under `alerts:` or at the top level), each
 *   - name: HighErrorRate
 *     condition: error_rate > 0.01      # METRIC OP NUMBER, OP one of > >= < <= == !=; "90%" = 0.9
 *     severity: critical                 # critical | warning | info
 *     notification: log                  # a channel, or a list of them (delivery is the server's)
 *     description: optional text
 * Conditions name the metrics of ALERT_METRICS, which the monitoring side samples every
 * `monitoring.metrics_interval` seconds. Every error names the file and the rule.
 */
import {readFileSync} from 'node:fs'

import {parse as parseYaml} from 'yaml'

import {ioError, LlmfragError} from '../errors.js'
import type {AlertThresholds} from './types.js'

/** The metrics a condition may name, and what each measures. */
export const ALERT_METRICS = {
  error_rate: 'failed requests / requests over the last interval, 0..1',
  memory_usage: 'resident memory / total system memory, 0..1',
  latency_ms: 'request latency (to the last token) in ms, over the last interval',
  ms_per_token: 'generation time per token in ms, over the last interval',
  tokens_per_second: 'generated tokens per second, over the last interval',
  queue_depth: 'requests waiting for a model',
  architecture_mismatches: 'architecture mismatches since start',
  models_loaded: 'resident transformer blocks',
  uptime_seconds: 'seconds since start',
} as const
export type AlertMetric = keyof typeof ALERT_METRICS

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const
export type Comparison = (typeof COMPARISONS)[number]

export const SEVERITIES = ['critical', 'warning', 'info'] as const
export type Severity = (typeof SEVERITIES)[number]

export interface AlertCondition {
  readonly metric: AlertMetric
  readonly op: Comparison
  readonly value: number
  /** The condition as written. */
  readonly text: string
}

export interface AlertRule {
  readonly name: string
  readonly condition: AlertCondition
  readonly severity: Severity
  readonly notification: readonly string[]
  readonly description?: string
}

const CONDITION = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*$/
const RULE_KEYS = ['name', 'condition', 'severity', 'notification', 'description']

function isMetric(s: string): s is AlertMetric {
  return Object.hasOwn(ALERT_METRICS, s)
}

/**
 * Parses `METRIC OP NUMBER` (a trailing % divides the number by 100). Throws a CONFIG error whose
 * message says what is wrong with the text; callers prefix the file and rule.
 */
export function parseCondition(text: string): AlertCondition {
  const m = CONDITION.exec(text)
  if (!m) {
    throw new LlmfragError('CONFIG', `condition ${JSON.stringify(text)} is not METRIC OP NUMBER (OP one of ${COMPARISONS.join(' ')}), e.g. "error_rate > 0.01"`)
  }
  const [, metric, op, number, percent] = m
  if (!isMetric(metric)) {
    throw new LlmfragError('CONFIG', `condition ${JSON.stringify(text)} names an unknown metric ${JSON.stringify(metric)}; known: ${Object.keys(ALERT_METRICS).join(', ')}`)
  }
  const value = Number(number) / (percent ? 100 : 1)
  if (!Number.isFinite(value)) throw new LlmfragError('CONFIG', `condition ${JSON.stringify(text)}: ${number} is not a finite number`)
  return {metric, op: op as Comparison, value, text: text.trim()}
}

/** True when the condition holds for the metric's current value. */
export function conditionHolds(c: AlertCondition, value: number): boolean {
  switch (c.op) {
    case '>': return value > c.value
    case '>=': return value >= c.value
    case '<': return value < c.value
    case '<=': return value <= c.value
    case '==': return value === c.value
    case '!=': return value !== c.value
  }
}

/** `monitoring.alert_thresholds` as rules (`metric > threshold`, severity warning, to the log). */
export function thresholdRules(t: AlertThresholds): AlertRule[] {
  return (Object.keys(t) as Array<keyof AlertThresholds>).map((metric) => ({
    name: `threshold_${metric}`,
    condition: {metric, op: '>', value: t[metric], text: `${metric} > ${t[metric]}`},
    severity: 'warning',
    notification: ['log'],
    description: `monitoring.alert_thresholds.${metric}`,
  }))
}

/** Parses alerts.yml text; `file` names the source in errors. */
export function parseAlerts(text: string, file: string): AlertRule[] {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new LlmfragError('CONFIG', `${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, {details: {file}, cause: err})
  }
  if (doc === null || doc === undefined) return []
  const list = Array.isArray(doc) ? doc : isRecord(doc) && Object.keys(doc).length === 1 && 'alerts' in doc ? doc.alerts : undefined
  if (list === null) return []
  if (!Array.isArray(list)) {
    throw new LlmfragError('CONFIG', `${file}: expected a list of alert rules, or "alerts:" holding one`, {
      hints: ['see examples/alerts.yml'], details: {file},
    })
  }
  const rules = list.map((item, i) => parseRule(item, i, file))
  const seen = new Map<string, number>()
  rules.forEach((r, i) => {
    const first = seen.get(r.name)
    if (first !== undefined) throw ruleError(file, i, r.name, `has the same name as rule #${first + 1}; names must be unique`)
    seen.set(r.name, i)
  })
  return rules
}

export function loadAlerts(file: string): AlertRule[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw ioError(err, file, 'read the alerts file')
  }
  return parseAlerts(text, file)
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function ruleError(file: string, index: number, name: string | undefined, message: string): LlmfragError {
  const rule = name === undefined ? `alert rule #${index + 1}` : `alert rule ${JSON.stringify(name)} (#${index + 1})`
  return new LlmfragError('CONFIG', `${file}: ${rule}: ${message}`, {
    hints: ['each rule has name, condition (METRIC OP NUMBER), severity (critical, warning, info) and notification; see examples/alerts.yml'],
    details: {file, rule: name ?? index + 1},
  })
}

function parseRule(item: unknown, i: number, file: string): AlertRule {
  if (!isRecord(item)) throw ruleError(file, i, undefined, `must be a mapping, got ${Array.isArray(item) ? 'a list' : JSON.stringify(item)}`)
  const name = typeof item.name === 'string' && item.name.trim() !== '' ? item.name.trim() : undefined
  const fail = (message: string): LlmfragError => ruleError(file, i, name, message)
  if (name === undefined) throw fail('needs a name (a non-empty string)')
  const unknown = Object.keys(item).filter((k) => !RULE_KEYS.includes(k))
  if (unknown.length > 0) throw fail(`has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${RULE_KEYS.join(', ')})`)

  if (typeof item.condition !== 'string') throw fail('needs a condition string such as "error_rate > 0.01"')
  let condition: AlertCondition
  try {
    condition = parseCondition(item.condition)
  } catch (err) {
    throw fail((err as Error).message)
  }
  const severity = item.severity
  if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) {
    throw fail(`severity must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(severity ?? null)}`)
  }
  const n = item.notification
  const notification = typeof n === 'string' ? [n] : Array.isArray(n) ? n : undefined
  if (!notification || notification.length === 0 || notification.some((c) => typeof c !== 'string' || c.trim() === '')) {
    throw fail('notification must be a channel name or a non-empty list of them (e.g. log, email:ops@example.com, webhook:https://...)')
  }
  const description = item.description
  if (description !== undefined && typeof description !== 'string') throw fail('description must be a string')
  return {
    name, condition, severity: severity as Severity, notification: notification.map((c: string) => c.trim()),
    ...(description === undefined ? {} : {description}),
  }
}
