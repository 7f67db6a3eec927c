/**
 * The monitoring listener (its own port, up before the model loads): `GET /health` (JSON, 503
 * until ready) and `GET /metrics` (Prometheus text).
 */
import type {RequestListener} from 'node:http'

import type {Logger} from '../log/logger.js'
import type {HealthResponse} from '../monitoring/health.js'
import {PROMETHEUS_CONTENT_TYPE} from '../monitoring/metrics.js'
import {sendError, sendJson, sendText} from './http-util.js'

export interface MonitorContext {
  readonly health: () => HealthResponse
  /** Prometheus text of every metric. */
  readonly metrics: () => string
  readonly logger: Logger
}

export function createMonitorHandler(ctx: MonitorContext): RequestListener {
  return (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/'
      if (path !== '/health' && path !== '/metrics') {
        sendError(res, {status: 404, type: 'not_found_error', code: 'not_found', message: `no route ${path}; try /health or /metrics`, param: null})
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, {status: 405, type: 'invalid_request_error', code: 'method_not_allowed', message: `${path} takes GET, got ${req.method}`, param: null}, {Allow: 'GET'})
        return
      }
      if (path === '/health') {
        const h = ctx.health()
        sendJson(res, h.httpStatus, h.body)
      } else {
        sendText(res, 200, ctx.metrics(), PROMETHEUS_CONTENT_TYPE)
      }
    } catch (err) {
      ctx.logger.error('monitoring request failed', {error: err, path: req.url})
      sendError(res, {status: 500, type: 'server_error', code: 'internal', message: 'internal error', param: null})
    }
  }
}
