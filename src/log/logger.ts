/**
 * A JSON-lines logger with levels (debug < info < warn < error). One line per event:
 * `{"time":"2026-01-01T00:00:00.000Z","level":"info","msg":"listening","service":"api","port":8080}`.
 * Lines go to a file (appended; a log is a stream, not an output that is renamed into place) or to
 * any writable the caller passes (stderr in the CLI). The core logs through this and never prints.
 */
import {createWriteStream, type WriteStream} from 'node:fs'
import type {Writable} from 'node:stream'

import {ioError, LlmfragError} from '../errors.js'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Extra fields of one line; `time`, `level` and `msg` are reserved and set by the logger. */
export type LogFields = Record<string, unknown>

export interface Logger {
  readonly level: LogLevel
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line and shares this one's sinks. */
  child(fields: LogFields): Logger
  /** Flushes and closes the sinks this logger opened (a file); other sinks are left open. */
  close(): Promise<void>
}

export interface LoggerOptions {
  /** Minimum level written; default `info`. */
  readonly level?: LogLevel
  /** Append JSON lines to this file (created if missing). */
  readonly file?: string
  /** Also (or instead) write JSON lines here, e.g. process.stderr. */
  readonly stream?: Writable
  /** Clock, for tests. */
  readonly now?: () => Date
}

const rank: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

/** Parses a LOG_LEVEL value (case-insensitive; `warning` is taken for `warn`). */
export function parseLogLevel(value: string, source = 'LOG_LEVEL'): LogLevel {
  const v = value.trim().toLowerCase()
  const level = v === 'warning' ? 'warn' : v
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel
  throw new LlmfragError('CONFIG', `${source}: must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`, {
    hints: ['set LOG_LEVEL=info (or debug, warn, error)'],
  })
}

/** Errors become {name, message, code?} so a line never loses the cause or fails to serialize. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof LlmfragError) return {name: value.name, code: value.code, message: value.message}
  if (value instanceof Error) return {name: value.name, message: value.message}
  if (typeof value === 'bigint') return value.toString()
  return value
}

interface Sinks {
  write(line: string): void
  close(): Promise<void>
}

function openSinks(options: LoggerOptions): Sinks {
  let file: WriteStream | undefined
  if (options.file !== undefined) {
    const path = options.file
    file = createWriteStream(path, {flags: 'a'})
    // A log file that cannot be written must not take the server down: report once on the stream.
    file.on('error', (err) => {
      options.stream?.write(JSON.stringify({time: new Date().toISOString(), level: 'error', msg: ioError(err, path, 'write log file').message}) + '\n')
      file = undefined
    })
  }
  const stream = options.stream
  return {
    write(line) {
      file?.write(line)
      stream?.write(line)
    },
    close() {
      const f = file
      file = undefined
      if (!f) return Promise.resolve()
      return new Promise((resolve) => f.end(resolve))
    },
  }
}

class JsonLogger implements Logger {
  constructor(
    readonly level: LogLevel,
    private readonly sinks: Sinks,
    private readonly base: LogFields,
    private readonly now: () => Date,
  ) {}

  debug(msg: string, fields?: LogFields): void { this.log('debug', msg, fields) }
  info(msg: string, fields?: LogFields): void { this.log('info', msg, fields) }
  warn(msg: string, fields?: LogFields): void { this.log('warn', msg, fields) }
  error(msg: string, fields?: LogFields): void { this.log('error', msg, fields) }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.level, this.sinks, {...this.base, ...fields}, this.now)
  }

  close(): Promise<void> {
    return this.sinks.close()
  }

  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (rank[level] < rank[this.level]) return
    const line = {time: this.now().toISOString(), level, msg, ...this.base, ...fields}
    this.sinks.write(JSON.stringify(line, replacer) + '\n')
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return new JsonLogger(options.level ?? 'info', openSinks(options), {}, options.now ?? (() => new Date()))
}

/** A logger that drops everything (library callers that did not ask for logs). */
export function silentLogger(): Logger {
  return createLogger({level: 'error', stream: undefined})
}
