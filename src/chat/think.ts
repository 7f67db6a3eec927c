/**
 * Keeping a reasoning model's thoughts apart from its answer. Magistral writes
 * `[THINK]…thoughts…[/THINK]answer`; fed the decoded pieces of a stream (control tokens rendered as
 * their text, e.g. `tokenizer.streamDecoder({special: true})`), the splitter emits
 * `{kind: 'thinking' | 'answer', text}` chunks without the tags. A tag may arrive split across
 * pieces (`[TH` + `INK]`), so text that could be the start of a tag is held back until the next
 * piece shows what it is; flush() releases it at the end.
 */
export type ThinkKind = 'thinking' | 'answer'

export interface ThinkChunk {
  readonly kind: ThinkKind
  readonly text: string
}

export interface ThinkTags {
  readonly open: string
  readonly close: string
}

export const MAGISTRAL_THINK_TAGS: ThinkTags = {open: '[THINK]', close: '[/THINK]'}

export interface ThinkOptions {
  /** Tags around the thoughts (default `[THINK]` / `[/THINK]`). */
  readonly tags?: ThinkTags
  /** Start inside the thoughts (when the prompt itself ends with the open tag). Default false. */
  readonly startInThinking?: boolean
}

export class ThinkSplitter {
  private readonly tags: ThinkTags
  private kind: ThinkKind
  /** Text not yet emitted: at most a partial tag at the end of what was pushed. */
  private pending = ''

  constructor(options: ThinkOptions = {}) {
    this.tags = options.tags ?? MAGISTRAL_THINK_TAGS
    this.kind = options.startInThinking ? 'thinking' : 'answer'
  }

  /** Whether the text being produced now is thoughts. */
  get thinking(): boolean {
    return this.kind === 'thinking'
  }

  /** Chunks that `piece` completes, in order (adjacent text of one kind joined). */
  push(piece: string): ThinkChunk[] {
    const out: ThinkChunk[] = []
    let buf = this.pending + piece
    for (;;) {
      const tag = this.kind === 'answer' ? this.tags.open : this.tags.close
      const at = buf.indexOf(tag)
      if (at < 0) {
        const keep = partialTagLength(buf, tag)
        emit(out, this.kind, buf.slice(0, buf.length - keep))
        this.pending = buf.slice(buf.length - keep)
        return out
      }
      emit(out, this.kind, buf.slice(0, at))
      buf = buf.slice(at + tag.length)
      this.kind = this.kind === 'answer' ? 'thinking' : 'answer'
    }
  }

  /** Whatever is held back, as text of the current kind (the stream has ended). */
  flush(): ThinkChunk[] {
    const out: ThinkChunk[] = []
    emit(out, this.kind, this.pending)
    this.pending = ''
    return out
  }
}

/** Splits a whole reply into its thoughts and its answer (for APIs that return both at once). */
export function splitThinking(text: string, options: ThinkOptions = {}): {thinking: string; answer: string} {
  const s = new ThinkSplitter(options)
  const result = {thinking: '', answer: ''}
  for (const c of [...s.push(text), ...s.flush()]) result[c.kind] += c.text
  return result
}

function emit(out: ThinkChunk[], kind: ThinkKind, text: string): void {
  if (text.length === 0) return
  const last = out.at(-1)
  if (last !== undefined && last.kind === kind) out[out.length - 1] = {kind, text: last.text + text}
  else out.push({kind, text})
}

/** Length of the longest suffix of `buf` that is a proper prefix of `tag`. */
function partialTagLength(buf: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, buf.length); n > 0; n--) {
    if (buf.endsWith(tag.slice(0, n))) return n
  }
  return 0
}
