/**
 * Small helpers over node:http: a body reader with a size limit, JSON and error responses, and
 * Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {errorBody, type ApiError, type Result} from './api-error.js'

/** Reads the whole body as UTF-8, refusing more than `limit` bytes (413). */
export function readBody(req: IncomingMessage, limit: number): Promise<Result<string>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        resolve({ok: false, error: {status: 413, type: 'invalid_request_error', code: 'body_too_large', message: `request body over ${limit} bytes`, param: null}})
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (done) return
      done = true
      resolve({ok: true, value: Buffer.concat(chunks).toString('utf8')})
    })
    // A client that goes away mid-body ends the read with 'error' or only 'close'.
    const fail = (): void => {
      if (done) return
      done = true
      resolve({ok: false, error: {status: 400, type: 'invalid_request_error', code: 'body_unreadable', message: 'request body could not be read', param: null}})
    }
    req.on('error', fail)
    req.on('close', fail)
  })
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers})
  res.end(text)
}

export function sendError(res: ServerResponse, e: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, e.status, errorBody(e), headers)
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, {'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text)})
  res.end(text)
}

export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    // Proxies such as nginx buffer responses unless told not to.
    'X-Accel-Buffering': 'no',
  })
  res.flushHeaders()
}

/** One `data:` event; `[DONE]` ends an OpenAI stream. */
export function sendEvent(res: ServerResponse, data: unknown): void {
  if (res.destroyed || res.writableEnded) return
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
}
