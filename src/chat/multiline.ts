/**
 * Multi-line chat input, as llama.cpp's and Ollama's interactive modes take it:
 * - a line ending in `\` continues on the next line (the backslash becomes a newline);
 * - a line starting with `"""` opens a block that runs until a line ending in `"""`; the text
 *   after the opening quotes and before the closing ones belongs to the message
 *   (`"""one line"""` is a one-line block).
 * Fed one line at a time, it returns the finished input, or undefined while more lines are
 * needed (the prompt then shows a continuation marker). Input from a block is `literal`: it is a
 * message even when it starts with `/`.
 */
const QUOTES = '"""'

export interface AssembledInput {
  readonly text: string
  /** Came from a """ block (never a command). */
  readonly literal: boolean
}

export class MultilineInput {
  private lines: string[] = []
  private mode: 'none' | 'continued' | 'block' = 'none'
  private literal = false

  /** Whether the input so far is unfinished (a continuation prompt is due). */
  get pending(): boolean {
    return this.mode !== 'none'
  }

  /** Feeds one line (without its line break); returns the whole input when it is complete. */
  push(line: string): AssembledInput | undefined {
    if (this.mode === 'block') {
      const end = line.trimEnd()
      if (!end.endsWith(QUOTES)) {
        this.lines.push(line)
        return undefined
      }
      const before = end.slice(0, end.length - QUOTES.length)
      if (before.trim() !== '') this.lines.push(before)
      return this.finish()
    }
    if (this.mode === 'none' && line.trimStart().startsWith(QUOTES)) {
      const rest = line.trimStart().slice(QUOTES.length)
      const end = rest.trimEnd()
      if (end.endsWith(QUOTES)) return {text: end.slice(0, end.length - QUOTES.length), literal: true}
      this.mode = 'block'
      this.literal = true
      if (rest.length > 0) this.lines.push(rest)
      return undefined
    }
    if (line.endsWith('\\')) {
      this.lines.push(line.slice(0, -1))
      this.mode = 'continued'
      return undefined
    }
    this.lines.push(line)
    return this.finish()
  }

  /** Drops unfinished input (Ctrl-C at a continuation prompt); returns whether there was any. */
  clear(): boolean {
    const had = this.pending
    this.lines = []
    this.mode = 'none'
    this.literal = false
    return had
  }

  /** The unfinished input when the stream ends (an unclosed block is sent as it is). */
  end(): AssembledInput | undefined {
    if (!this.pending) return undefined
    return this.finish()
  }

  private finish(): AssembledInput {
    const done = {text: this.lines.join('\n'), literal: this.literal}
    this.lines = []
    this.mode = 'none'
    this.literal = false
    return done
  }
}
