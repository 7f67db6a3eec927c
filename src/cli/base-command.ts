/**
 * The base of every command: a `--verbose` flag, and one place that renders core errors (one line
 * of what went wrong, then `hint:` lines; the stack only with --verbose) and maps their codes to
 * exit codes (0 success, 1 failed check or job, 2 bad usage or input).
 */
import {Command, Flags} from '@oclif/core'
import {chalkStderr} from 'chalk'

import {exitCodeFor, LlmfragError} from '../errors.js'
import {progressBar, type ProgressFn} from './progress.js'

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    verbose: Flags.boolean({description: 'Print stack traces with errors.', helpGroup: 'GLOBAL'}),
  }

  protected get verbose(): boolean {
    return this.argv.includes('--verbose')
  }

  /** Writes one line to stderr (progress and notes never mix with --json output on stdout). */
  protected note(line: string): void {
    process.stderr.write(line + '\n')
  }

  /**
   * Runs a job that writes files with a progress bar, Ctrl-C wired to its abort signal: on SIGINT
   * the job stops between chunks and removes its partial files, and the command exits 130.
   */
  protected async interruptible<T>(label: string, job: (signal: AbortSignal, onProgress: ProgressFn) => Promise<T>): Promise<T> {
    const bar = progressBar(label)
    const abort = new AbortController()
    const onSigint = (): void => abort.abort(new Error('interrupted'))
    process.once('SIGINT', onSigint)
    try {
      return await job(abort.signal, bar.update)
    } catch (err) {
      if (abort.signal.aborted) {
        this.note('interrupted: the partial files were removed')
        process.exitCode = 130
        return this.exit(130)
      }
      throw err
    } finally {
      bar.stop()
      process.removeListener('SIGINT', onSigint)
    }
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err instanceof LlmfragError) {
      const exit = exitCodeFor(err.code)
      if (this.jsonEnabled()) {
        this.logJson({error: {code: err.code, message: err.message, hints: err.hints, details: err.details}})
      } else {
        const red = chalkStderr.red
        process.stderr.write(`${red('error:')} ${err.message}\n`)
        for (const h of err.hints) process.stderr.write(`${chalkStderr.dim('hint:')} ${h}\n`)
        if (this.verbose && err.stack) process.stderr.write(err.stack + '\n')
      }
      process.exitCode = exit
      return this.exit(exit)
    }
    return super.catch(err)
  }
}
