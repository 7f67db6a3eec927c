/**
 * A bounded FIFO in front of one backend: one generation runs at a time, at most `capacity`
 * requests wait. A waiting request whose client goes away (its signal aborts) leaves the queue at
 * once; a running one frees the slot as soon as its generation returns (the backend stops at the
 * next token when the signal aborts). Refusals are data, not exceptions: the API turns them into
 * 503 responses.
 */
export type Acquired = {readonly ok: true; readonly release: () => void} | {readonly ok: false; readonly reason: 'full' | 'aborted'}

interface Waiter {
  readonly grant: (acquired: Acquired) => void
  readonly signal: AbortSignal
  readonly onAbort: () => void
}

export class GenerationQueue {
  private readonly waiters: Waiter[] = []
  private busy = false

  /** `capacity`: requests that may wait while one runs. */
  constructor(readonly capacity: number) {}

  /** Requests waiting (the running one not counted). */
  get depth(): number {
    return this.waiters.length
  }

  get running(): boolean {
    return this.busy
  }

  acquire(signal: AbortSignal): Promise<Acquired> {
    if (signal.aborted) return Promise.resolve({ok: false, reason: 'aborted'})
    if (!this.busy) {
      this.busy = true
      return Promise.resolve({ok: true, release: this.releaser()})
    }
    if (this.waiters.length >= this.capacity) return Promise.resolve({ok: false, reason: 'full'})
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter)
        if (i >= 0) this.waiters.splice(i, 1)
        resolve({ok: false, reason: 'aborted'})
      }
      const waiter: Waiter = {grant: resolve, signal, onAbort}
      signal.addEventListener('abort', onAbort, {once: true})
      this.waiters.push(waiter)
    })
  }

  /** A release function that works once, so a double release cannot start two generations. */
  private releaser(): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      const next = this.waiters.shift()
      if (!next) {
        this.busy = false
        return
      }
      next.signal.removeEventListener('abort', next.onAbort)
      next.grant({ok: true, release: this.releaser()})
    }
  }
}
