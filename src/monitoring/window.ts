/**
 * Recent requests over a sliding time window, for rates that should recover when a burst of
 * failures is over (an error rate since start-up never would). Each request is one small record;
 * records older than the window are dropped as new ones arrive or a snapshot is taken.
 */
export interface RequestOutcome {
  /** ms since the epoch. */
  readonly at: number
  /** A failure on our side (5xx, a generation that threw). */
  readonly serverError: boolean
  /** A request refused as malformed or impossible (4xx). */
  readonly clientError: boolean
  /** Wall time of the request, ms. */
  readonly ms: number
}

export interface GenerationSample {
  readonly at: number
  /** Tokens generated (not counting the prompt). */
  readonly tokens: number
  /** Wall time of the generation phase (after the prompt), ms. */
  readonly ms: number
}

export interface WindowStats {
  readonly requests: number
  readonly serverErrors: number
  readonly clientErrors: number
  /** serverErrors / requests, 0 when there were no requests. */
  readonly errorRate: number
  readonly clientErrorRate: number
  /** Mean request wall time, ms (NaN when there were none). */
  readonly latencyMs: number
  /** 99th percentile of request wall time, ms (NaN when there were none). */
  readonly latencyP99Ms: number
  /** Generation ms per generated token over the window (NaN when nothing was generated). */
  readonly msPerToken: number
}

/** Keeps at most this many records whatever the window, so a flood cannot grow memory. */
const MAX_RECORDS = 100_000

export class SlidingWindow {
  private requests: RequestOutcome[] = []
  private generations: GenerationSample[] = []

  constructor(readonly windowMs: number) {}

  addRequest(r: RequestOutcome): void {
    this.requests.push(r)
    if (this.requests.length > MAX_RECORDS) this.requests.splice(0, this.requests.length - MAX_RECORDS)
  }

  addGeneration(g: GenerationSample): void {
    this.generations.push(g)
    if (this.generations.length > MAX_RECORDS) this.generations.splice(0, this.generations.length - MAX_RECORDS)
  }

  stats(now: number): WindowStats {
    const from = now - this.windowMs
    this.requests = dropBefore(this.requests, from)
    this.generations = dropBefore(this.generations, from)
    let serverErrors = 0
    let clientErrors = 0
    const ms: number[] = []
    for (const r of this.requests) {
      if (r.serverError) serverErrors++
      if (r.clientError) clientErrors++
      ms.push(r.ms)
    }
    const n = this.requests.length
    let genTokens = 0
    let genMs = 0
    for (const g of this.generations) {
      genTokens += g.tokens
      genMs += g.ms
    }
    ms.sort((a, b) => a - b)
    return {
      requests: n,
      serverErrors,
      clientErrors,
      errorRate: n === 0 ? 0 : serverErrors / n,
      clientErrorRate: n === 0 ? 0 : clientErrors / n,
      latencyMs: n === 0 ? NaN : ms.reduce((a, b) => a + b, 0) / n,
      latencyP99Ms: n === 0 ? NaN : ms[Math.min(n - 1, Math.ceil(0.99 * n) - 1)],
      msPerToken: genTokens === 0 ? NaN : genMs / genTokens,
    }
  }
}

/** Records are appended in time order, so the old ones are a prefix. */
function dropBefore<T extends {at: number}>(list: T[], from: number): T[] {
  let i = 0
  while (i < list.length && list[i].at < from) i++
  return i === 0 ? list : list.slice(i)
}
