/**
 * The terminal side of `llmfrag chat`: reads lines (readline), assembles multi-line input,
 * streams replies, and handles Ctrl-C. The conversation itself is a ChatSession.
 *
 * - On a terminal (stdin and stdout TTYs) readline shows a `> ` prompt (`... ` while a multi-line
 *   input is open) with line editing and history. While a reply is generated the terminal is put
 *   back in cooked mode, so typing does not redraw the prompt over the reply and Ctrl-C arrives as
 *   SIGINT; at the prompt, raw mode delivers it to readline.
 * - Ctrl-C stops the reply being generated (the chat goes on); at the prompt it clears the line or
 *   the open multi-line input, and pressed twice in a row on an empty prompt it leaves the chat.
 * - Without a terminal (piped stdin) every line is read as typed, each message answered in turn,
 *   and the chat ends at the end of the input; SIGINT stops the current reply the same way.
 * Replies and command output go to stdout; notes and errors to stderr.
 */
import {createInterface, type Interface} from 'node:readline'
import type {ReadStream} from 'node:tty'

import {chalkStderr} from 'chalk'

import {MultilineInput} from '../chat/multiline.js'
import type {ChatSession} from '../chat/session.js'
import {LlmfragError} from '../errors.js'
import {ReplyRenderer, type ReplyStyle} from './chat-render.js'

export interface ChatTerminalOptions {
  readonly input: NodeJS.ReadableStream & Partial<Pick<ReadStream, 'isTTY' | 'setRawMode'>>
  readonly output: NodeJS.WritableStream
  readonly errors: NodeJS.WritableStream
  /** stdin and stdout are a terminal: prompts, line editing, raw-mode Ctrl-C. */
  readonly interactive: boolean
  /** How replies look (thoughts dimmed on a terminal, tagged elsewhere). */
  readonly style: ReplyStyle
  /** Print stacks with errors. */
  readonly verbose?: boolean
}

const PROMPT = '> '
const MORE = '... '

export async function runChatTerminal(session: ChatSession, o: ChatTerminalOptions): Promise<void> {
  const rl = createInterface({input: o.input, output: o.interactive ? o.output : undefined, terminal: o.interactive, historySize: 500})
  const queue: string[] = []
  let ended = false
  let quit = false
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  rl.on('line', (line) => {
    queue.push(line)
    notify()
  })
  rl.on('close', () => {
    ended = true
    notify()
  })

  const ml = new MultilineInput()
  const note = (line: string): void => {
    o.errors.write(chalkStderr.dim(line) + '\n')
  }
  const prompt = (): void => {
    if (!o.interactive) return
    rl.setPrompt(ml.pending ? MORE : PROMPT)
    rl.prompt()
  }

  let current: AbortController | undefined
  let armed = false // one Ctrl-C at an empty prompt: the next one exits
  const interrupt = (): void => {
    if (current) {
      current.abort()
      return
    }
    if (ml.pending || (o.interactive && rl.line.length > 0)) {
      armed = false
      ml.clear()
      if (o.interactive) clearLine(rl)
      if (o.interactive) o.output.write('\n')
      prompt()
      return
    }
    if (armed) {
      quit = true
      notify()
      return
    }
    armed = true
    if (o.interactive) o.output.write('\n')
    note('(press Ctrl-C again to exit, or type /exit)')
    prompt()
  }
  rl.on('SIGINT', interrupt)
  process.on('SIGINT', interrupt)

  const nextLine = async (): Promise<string | undefined> => {
    for (;;) {
      if (quit) return undefined
      const line = queue.shift()
      if (line !== undefined) return line
      if (ended) return undefined
      prompt()
      await new Promise<void>((resolve) => { wake = resolve })
    }
  }

  try {
    for (;;) {
      const line = await nextLine()
      const input = line === undefined ? (quit ? undefined : ml.end()) : ml.push(line)
      if (line !== undefined) armed = false
      if (input === undefined) {
        if (line === undefined) break
        continue
      }
      const outcome = await busy(rl, o, async () => {
        current = new AbortController()
        const renderer = new ReplyRenderer((s) => o.output.write(s), o.style)
        try {
          const r = await session.handle(input, {
            reply: (c) => renderer.chunk(c),
            info: (l) => o.output.write(l + '\n'),
          }, current.signal)
          renderer.end()
          if (current.signal.aborted) note('[stopped]')
          return r
        } catch (err) {
          renderer.end()
          if (!(err instanceof LlmfragError)) throw err
          printError(o, err)
          return 'continue'
        } finally {
          current = undefined
        }
      })
      if (outcome === 'exit' || line === undefined) break
    }
  } finally {
    process.off('SIGINT', interrupt)
    rl.close()
    if (o.interactive && (ended || quit)) o.output.write('\n')
  }
}

/**
 * Runs work with the terminal in cooked mode and readline paused: keys typed meanwhile wait in
 * the terminal for the next prompt, and Ctrl-C becomes SIGINT.
 */
async function busy<T>(rl: Interface, o: ChatTerminalOptions, work: () => Promise<T>): Promise<T> {
  const raw = o.interactive && typeof o.input.setRawMode === 'function'
  if (raw) {
    rl.pause()
    o.input.setRawMode?.(false)
  }
  try {
    return await work()
  } finally {
    if (raw) {
      o.input.setRawMode?.(true)
      rl.resume()
    }
  }
}

/** Empties readline's current line (Ctrl-E then Ctrl-U, as typed). */
function clearLine(rl: Interface): void {
  if (rl.line.length === 0) return
  rl.write(null, {ctrl: true, name: 'e'})
  rl.write(null, {ctrl: true, name: 'u'})
}

/** The base command's error shape, without leaving the chat. */
function printError(o: ChatTerminalOptions, err: LlmfragError): void {
  o.errors.write(`${chalkStderr.red('error:')} ${err.message}\n`)
  for (const h of err.hints) o.errors.write(`${chalkStderr.dim('hint:')} ${h}\n`)
  if (o.verbose && err.stack) o.errors.write(err.stack + '\n')
}
