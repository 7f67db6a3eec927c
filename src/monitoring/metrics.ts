/**
 * A small metrics registry rendered in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): counters, gauges and histograms,
 * each with optional labels. Names follow Prometheus conventions (`_total` for counters, base units:
 * seconds, bytes). Gauges may be computed at scrape time from a callback.
 */
import {LlmfragError} from '../errors.js'

export type Labels = Readonly<Record<string, string>>

type Kind = 'counter' | 'gauge' | 'histogram'

interface Family {
  readonly name: string
  readonly help: string
  readonly kind: Kind
  render(out: string[]): void
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join('\u0001')
}

/** `{a="x",b="y"}` with label values escaped as the format requires (backslash, quote, newline). */
export function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return ''
  const parts = keys.map((k) => {
    if (!LABEL_RE.test(k)) throw new LlmfragError('INTERNAL', `invalid Prometheus label name ${JSON.stringify(k)}`)
    const v = labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    return `${k}="${v}"`
  })
  return `{${parts.join(',')}}`
}

/** Numbers as Prometheus writes them: integers plainly, NaN and infinities by name. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

abstract class LabelledFamily<T> implements Family {
  protected readonly series = new Map<string, {labels: Labels; value: T}>()
  abstract readonly kind: Kind

  constructor(readonly name: string, readonly help: string) {
    if (!NAME_RE.test(name)) throw new LlmfragError('INTERNAL', `invalid Prometheus metric name ${JSON.stringify(name)}`)
  }

  protected entry(labels: Labels, init: () => T): {labels: Labels; value: T} {
    const key = labelKey(labels)
    let e = this.series.get(key)
    if (!e) {
      e = {labels: {...labels}, value: init()}
      this.series.set(key, e)
    }
    return e
  }

  abstract render(out: string[]): void
}

export class Counter extends LabelledFamily<number> {
  readonly kind = 'counter'

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new LlmfragError('INTERNAL', `counter ${this.name} cannot decrease (inc by ${by})`)
    this.entry(labels, () => 0).value += by
  }

  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0
  }

  /** Sum over every label combination. */
  total(): number {
    let s = 0
    for (const e of this.series.values()) s += e.value
    return s
  }

  render(out: string[]): void {
    for (const e of this.series.values()) out.push(`${this.name}${formatLabels(e.labels)} ${formatValue(e.value)}`)
  }
}

export class Gauge extends LabelledFamily<number> {
  readonly kind = 'gauge'
  private collector: (() => ReadonlyArray<[Labels, number]>) | undefined

  set(value: number, labels: Labels = {}): void {
    this.entry(labels, () => 0).value = value
  }

  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0
  }

  /** Replaces stored values with ones computed at each scrape (e.g. memory, queue depth). */
  collect(fn: () => ReadonlyArray<[Labels, number]>): this {
    this.collector = fn
    return this
  }

  render(out: string[]): void {
    if (this.collector) {
      for (const [labels, value] of this.collector()) out.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`)
      return
    }
    for (const e of this.series.values()) out.push(`${this.name}${formatLabels(e.labels)} ${formatValue(e.value)}`)
  }
}

interface HistogramState {
  counts: number[] // per bucket, not cumulative
  sum: number
  count: number
}

export class Histogram extends LabelledFamily<HistogramState> {
  readonly kind = 'histogram'

  /** `buckets`: upper bounds in increasing order; +Inf is implied. */
  constructor(name: string, help: string, readonly buckets: readonly number[]) {
    super(name, help)
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new LlmfragError('INTERNAL', `histogram ${name}: buckets must increase`)
    }
  }

  observe(value: number, labels: Labels = {}): void {
    const s = this.entry(labels, () => ({counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0})).value
    let i = 0
    while (i < this.buckets.length && value > this.buckets[i]) i++
    s.counts[i]++
    s.sum += value
    s.count++
  }

  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value.count ?? 0
  }

  render(out: string[]): void {
    for (const {labels, value} of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += value.counts[i]
        const le = i < this.buckets.length ? formatValue(this.buckets[i]) : '+Inf'
        out.push(`${this.name}_bucket${formatLabels({...labels, le})} ${cumulative}`)
      }
      out.push(`${this.name}_sum${formatLabels(labels)} ${formatValue(value.sum)}`)
      out.push(`${this.name}_count${formatLabels(labels)} ${value.count}`)
    }
  }
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>()

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help))
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help))
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets))
  }

  /** The whole registry as Prometheus text (content type `text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = []
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`)
      out.push(`# TYPE ${f.name} ${f.kind}`)
      f.render(out)
    }
    return out.join('\n') + '\n'
  }

  private add<F extends Family>(f: F): F {
    if (this.families.has(f.name)) throw new LlmfragError('INTERNAL', `metric ${f.name} registered twice`)
    this.families.set(f.name, f)
    return f
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
