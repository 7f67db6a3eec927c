/**
 * API errors in OpenAI's shape: HTTP status plus `{error: {message, type, param, code}}`. Errors
 * are values handed back by validators and routes, so one place renders them.
 */
import type {LlmfragError} from '../errors.js'

export type ApiErrorType = 'invalid_request_error' | 'not_found_error' | 'server_error' | 'service_unavailable'

export interface ApiError {
  readonly status: number
  readonly type: ApiErrorType
  /** Machine-readable reason, e.g. `invalid_json`, `model_not_found`, `context_length_exceeded`. */
  readonly code: string
  readonly message: string
  /** The request field at fault, when there is one. */
  readonly param: string | null
}

export type Result<T> = {readonly ok: true; readonly value: T} | {readonly ok: false; readonly error: ApiError}

export function invalid(message: string, param: string | null, code = 'invalid_value'): ApiError {
  return {status: 400, type: 'invalid_request_error', code, message, param}
}

export function errorBody(e: ApiError): {error: {message: string; type: string; param: string | null; code: string}} {
  return {error: {message: e.message, type: e.type, param: e.param, code: e.code}}
}

/** A core error met while serving a request: bad input and full contexts are the client's (400). */
export function apiErrorFromLlmfrag(err: LlmfragError): ApiError {
  switch (err.code) {
    case 'BAD_INPUT':
      return invalid(err.message, null, 'invalid_prompt')
    case 'CONTEXT_FULL':
      return invalid(err.message, null, 'context_length_exceeded')
    case 'UNSUPPORTED':
      return invalid(err.message, null, 'unsupported')
    case 'ARCH_MISMATCH':
      return {status: 409, type: 'invalid_request_error', code: 'architecture_mismatch', message: err.message, param: null}
    default:
      return {status: 500, type: 'server_error', code: err.code.toLowerCase(), message: err.message, param: null}
  }
}
