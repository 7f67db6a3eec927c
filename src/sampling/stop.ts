/**
 * Stop strings over streamed text: generation ends at the first occurrence of any stop string,
 * which is not shown, and neither is anything after it. Text that might be the start of a stop
 * string is held back until the next piece settles it, so streamed output never shows a stop
 * string's beginning that the final text would not contain.
 */
export interface StopResult {
  /** Text that is now safe to show. */
  readonly emit: string
  /** A stop string was found; `emit` ends just before it. */
  readonly stopped: boolean
  /** The stop string that matched. */
  readonly stop?: string
}

export class StopMatcher {
  private held = ''
  private readonly stops: readonly string[]

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0)
  }

  /** Adds a piece of generated text. */
  push(piece: string): StopResult {
    const text = this.held + piece
    let cut = -1
    let which: string | undefined
    for (const s of this.stops) {
      const i = text.indexOf(s)
      if (i >= 0 && (cut < 0 || i < cut)) {
        cut = i
        which = s
      }
    }
    if (cut >= 0) {
      this.held = ''
      return {emit: text.slice(0, cut), stopped: true, stop: which}
    }
    const keep = this.partialSuffix(text)
    this.held = text.slice(text.length - keep)
    return {emit: text.slice(0, text.length - keep), stopped: false}
  }

  /** The text held back at the end of generation (it never completed a stop string). */
  flush(): string {
    const t = this.held
    this.held = ''
    return t
  }

  /** Length of the longest suffix of text that is a proper prefix of some stop string. */
  private partialSuffix(text: string): number {
    let best = 0
    for (const s of this.stops) {
      for (let len = Math.min(s.length - 1, text.length); len > best; len--) {
        if (text.endsWith(s.slice(0, len))) {
          best = len
          break
        }
      }
    }
    return best
  }
}
