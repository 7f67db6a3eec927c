/**
 * Renders a streamed chat reply. On a terminal a reasoning model's thoughts are dimmed and set
 * apart from the answer by a line break; elsewhere (a pipe, a log) they keep their `[THINK]` /
 * `[/THINK]` tags, so the text reads as the model wrote it and stays parseable.
 */
import type {ThinkChunk, ThinkKind} from '../chat/think.js'
import {MAGISTRAL_THINK_TAGS} from '../chat/think.js'

export interface ReplyStyle {
  /** A terminal: thoughts dimmed, no tags. */
  readonly tty: boolean
  /** Dims text (chalk.dim on a terminal with colour; identity otherwise). */
  readonly dim: (s: string) => string
}

export class ReplyRenderer {
  private kind: ThinkKind | undefined
  private atLineStart = true

  constructor(private readonly write: (s: string) => void, private readonly style: ReplyStyle) {}

  /** Whether part of a reply has been written and not yet ended. */
  get open(): boolean {
    return this.kind !== undefined
  }

  chunk(c: ThinkChunk): void {
    if (c.text.length === 0) return
    if (c.kind !== this.kind) {
      if (this.kind === 'thinking') this.closeThinking()
      if (c.kind === 'thinking' && !this.style.tty) this.put(MAGISTRAL_THINK_TAGS.open)
      this.kind = c.kind
    }
    this.put(c.kind === 'thinking' && this.style.tty ? this.style.dim(c.text) : c.text, c.text)
  }

  /** Ends the reply: closes open thoughts and the line. */
  end(): void {
    if (this.kind === 'thinking' && !this.style.tty) this.put(MAGISTRAL_THINK_TAGS.close)
    if (!this.atLineStart) this.put('\n')
    this.kind = undefined
    this.atLineStart = true
  }

  private closeThinking(): void {
    if (this.style.tty) {
      if (!this.atLineStart) this.put('\n')
      this.put('\n')
    } else this.put(MAGISTRAL_THINK_TAGS.close)
  }

  /** Writes `s`; `plain` is its text without styling (to know whether a line is open). */
  private put(s: string, plain = s): void {
    this.write(s)
    this.atLineStart = plain.endsWith('\n')
  }
}
