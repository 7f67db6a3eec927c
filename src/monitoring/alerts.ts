/**
 * Alert rules evaluated against named metric values. The rules come from the config loader
 * (`src/config/alerts.ts`: the seed's `alerts.yml` form -- `name`, `condition` such as
 * `error_rate > 0.01`, `severity`, `notification` -- plus one rule per entry of
 * `monitoring.alert_thresholds`). Each evaluation compares every rule with the current values and
 * reports transitions: a rule fires when its condition becomes true and resolves when it becomes
 * false. Transitions are logged; firing alerts are listed in /health and exported as gauges.
 */
import {conditionHolds, type AlertRule} from '../config/alerts.js'
import {LlmfragError} from '../errors.js'
import type {Logger} from '../log/logger.js'

export type {AlertRule} from '../config/alerts.js'

export interface AlertStatus {
  readonly name: string
  readonly severity: string
  /** The condition as written, e.g. `error_rate > 0.01`. */
  readonly condition: string
  /** Channels the rule names; this build logs every transition and sends nothing over the network. */
  readonly notification: readonly string[]
  readonly description?: string
  readonly firing: boolean
  /** Value of the metric at the last evaluation (null before the first, or when not a number). */
  readonly value: number | null
  readonly threshold: number
  /** ISO time the alert started firing (firing alerts only). */
  readonly since?: string
}

export interface AlertTransition {
  readonly rule: AlertRule
  readonly kind: 'fired' | 'resolved'
  readonly value: number
}

/** Refuses rules naming a metric the server does not produce, and duplicate names. */
export function validateAlertRules(rules: readonly AlertRule[], knownMetrics: readonly string[]): void {
  const seen = new Set<string>()
  for (const r of rules) {
    if (seen.has(r.name)) {
      throw new LlmfragError('CONFIG', `alert rule "${r.name}" is defined twice (alerts.yml and monitoring.alert_thresholds together)`, {hints: ['give each rule a unique name']})
    }
    seen.add(r.name)
    if (!knownMetrics.includes(r.condition.metric)) {
      throw new LlmfragError('CONFIG', `alert rule "${r.name}": the server does not measure "${r.condition.metric}" (condition "${r.condition.text}")`, {
        hints: [`metrics available to alert conditions: ${knownMetrics.join(', ')}`],
        details: {rule: r.name, metric: r.condition.metric},
      })
    }
  }
}

interface State {
  firing: boolean
  since: number
  value: number | null
}

export class AlertEvaluator {
  private readonly states = new Map<string, State>()

  constructor(readonly rules: readonly AlertRule[], private readonly logger: Logger) {
    for (const r of rules) this.states.set(r.name, {firing: false, since: 0, value: null})
  }

  /**
   * Compares every rule with `values`; logs and returns what changed. A metric that is missing or
   * NaN (e.g. ms_per_token before any generation) leaves its rule as it was.
   */
  evaluate(values: Readonly<Record<string, number>>, now = Date.now()): AlertTransition[] {
    const transitions: AlertTransition[] = []
    for (const rule of this.rules) {
      const state = this.states.get(rule.name) as State
      const value = values[rule.condition.metric]
      if (typeof value !== 'number' || Number.isNaN(value)) {
        state.value = null
        continue
      }
      state.value = value
      const active = conditionHolds(rule.condition, value)
      if (active === state.firing) continue
      state.firing = active
      const fields = {
        alert: rule.name, severity: rule.severity, condition: rule.condition.text, value, threshold: rule.condition.value,
        notification: rule.notification,
      }
      if (active) {
        state.since = now
        const log = rule.severity === 'critical' ? this.logger.error : this.logger.warn
        log.call(this.logger, 'alert firing', fields)
        transitions.push({rule, kind: 'fired', value})
      } else {
        this.logger.info('alert resolved', {...fields, firing_seconds: (now - state.since) / 1000})
        transitions.push({rule, kind: 'resolved', value})
      }
    }
    return transitions
  }

  status(): AlertStatus[] {
    return this.rules.map((r) => {
      const s = this.states.get(r.name) as State
      return {
        name: r.name, severity: r.severity, condition: r.condition.text, notification: r.notification,
        ...(r.description === undefined ? {} : {description: r.description}),
        firing: s.firing, value: s.value, threshold: r.condition.value,
        ...(s.firing ? {since: new Date(s.since).toISOString()} : {}),
      }
    })
  }

  firing(): AlertStatus[] {
    return this.status().filter((s) => s.firing)
  }
}
