/**
 * node:http listeners: bind (with a clear error for a port in use) and close gracefully.
 */
import type {Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {LlmfragError} from '../errors.js'

/** Listens on host:port (0: the OS picks) and resolves with the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new LlmfragError('IO', `cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`, {
        hints: err.code === 'EADDRINUSE' ? ['pick another port (--port / --metrics-port), or 0 to let the system choose'] : [],
        cause: err,
      }))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/**
 * Stops accepting, waits for the requests in flight, then resolves. Keep-alive connections are
 * closed as soon as they are idle (checked every 50 ms: a connection whose response just ended
 * would otherwise stay open for the keep-alive timeout); after `drainMs` every connection is cut.
 */
export function closeServer(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    const cut = setTimeout(() => server.closeAllConnections(), drainMs)
    const idle = setInterval(() => server.closeIdleConnections(), 50)
    server.close(() => {
      clearTimeout(cut)
      clearInterval(idle)
      resolve()
    })
    server.closeIdleConnections()
  })
}
