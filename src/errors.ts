/**
 * The one error path. Handlers throw `ApiError` with a stable code; `onError` (see app.tsx) renders
 * it as `application/problem+json` (RFC 9457) on API routes and as a friendly page on customer routes.
 */
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { TextRule } from './lib/text-rules'

export type ErrorCode =
  | 'validation_failed'
  | TextRule
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'insufficient_scope'
  | 'not_found'
  | 'method_not_allowed'
  | 'slug_taken'
  | 'slug_reserved'
  | 'code_immutable'
  | 'invalid_state'
  | 'version_conflict'
  | 'idempotency_key_reused'
  | 'idempotency_key_in_progress'
  | 'qr_content_not_ascii'
  | 'qr_content_too_long'
  | 'qr_content_empty'
  | 'qr_low_contrast'
  | 'rate_limited'
  | 'invalid_signature'
  | 'not_configured'
  | 'temporarily_unavailable'
  | 'upgrade_required'
  | 'internal_error'
  | 'payment_not_refundable'
  | 'refund_exceeds_remaining'
  | 'idempotency_key_reused'
  | 'refund_refused'
  | 'provider_unavailable'

export interface FieldError {
  /** Where in the request: `body.amount`, `query.limit`. */
  path: string
  message: string
  /** The rule this field broke, when it has its own code (`text_bidi_control`…). */
  code?: ErrorCode
}

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'The request is not valid',
  text_bidi_control: 'Customer text must not contain direction controls',
  text_invisible_character: 'Customer text must not contain invisible characters',
  text_control_character: 'Customer text must not contain control characters',
  invalid_json: 'The request body is not valid JSON',
  unsupported_media_type: 'Unsupported content type',
  payload_too_large: 'The request body is too large',
  unauthorized: 'Missing or invalid API key',
  insufficient_scope: 'The API key does not have the scope this needs',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  slug_taken: 'That slug is already taken',
  slug_reserved: 'That slug is reserved',
  code_immutable: 'A static code cannot be changed',
  invalid_state: 'The resource is not in a state that allows this',
  version_conflict: 'The resource changed since the version you read',
  idempotency_key_reused: 'This Idempotency-Key was used for another request',
  idempotency_key_in_progress: 'A request with this Idempotency-Key is still running',
  qr_content_not_ascii: 'The QR content must be ASCII',
  qr_content_too_long: 'The content does not fit in a QR code',
  qr_content_empty: 'The QR content is empty',
  qr_low_contrast: 'The colours are too close to scan reliably',
  rate_limited: 'Too many requests',
  invalid_signature: 'The webhook signature is not valid',
  not_configured: 'This feature is not configured',
  temporarily_unavailable: 'Temporarily unavailable; retry shortly',
  upgrade_required: 'Open this URL as a WebSocket',
  internal_error: 'Something went wrong on our side',
  payment_not_refundable: 'Only a paid payment can be refunded',
  refund_exceeds_remaining: 'The refund is more than what remains of the payment',
  refund_refused: 'The payment provider refused the refund',
  provider_unavailable: 'The payment provider could not be reached; nothing was changed',
}

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** Headers the answer must carry (a 405's `Allow`). */
    readonly headers?: Record<string, string>,
  ) {
    super(status, { message: detail ?? TITLES[code] })
  }

  get title(): string {
    return TITLES[this.code]
  }
}

export const notFound = (what = 'resource') => new ApiError(404, 'not_found', `No such ${what}.`)

/** Maps framework exceptions (validator, body limit, …) onto our codes so every 4xx looks alike. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  if (err instanceof HTTPException) {
    if (err.status === 400 && /json/i.test(err.message)) {
      return new ApiError(400, 'invalid_json', 'The request body is not valid JSON.')
    }
    if (err.status === 413) return new ApiError(413, 'payload_too_large')
    if (err.status === 415) {
      return new ApiError(415, 'unsupported_media_type', 'Send the body as application/json.')
    }
    if (err.status === 401) return new ApiError(401, 'unauthorized')
    if (err.status === 404) return new ApiError(404, 'not_found')
    if (err.status < 500) {
      return new ApiError(err.status as ContentfulStatusCode, 'validation_failed', err.message)
    }
  }
  return new ApiError(500, 'internal_error')
}

export interface Problem {
  type: string
  title: string
  status: number
  code: ErrorCode
  detail: string
  instance?: string
  errors?: FieldError[]
}

export function toProblem(err: ApiError, instance?: string): Problem {
  return {
    type: `urn:qrcheckout:problem:${err.code}`,
    title: err.title,
    status: err.status,
    code: err.code,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...(err.errors?.length ? { errors: err.errors } : {}),
  }
}
