/**
 * What an API key may do. Each API operation names the one scope it needs (`apiRoute`'s `scope`);
 * a key holds a set of them, or — keys made before scopes existed, and admin sessions — all.
 */
import { ApiError } from '../errors'

export const SCOPES = [
  'codes:read',
  'codes:write',
  'stats:read',
  'payments:read',
  'payments:write',
  'keys:read',
  'keys:write',
  'webhooks:write',
] as const

export type Scope = (typeof SCOPES)[number]

/** A key's scopes; `null` is full access (keys from before scopes, admin sessions). */
export type Grant = Scope[] | null

export const isScope = (value: string): value is Scope =>
  (SCOPES as readonly string[]).includes(value)

export const hasScope = (grant: readonly string[] | null, scope: Scope) =>
  grant === null || grant.includes(scope)

/** The 403 a call outside the key's scopes gets; the scope is named in the text and in `scope`. */
export function insufficientScope(scope: Scope, doing = 'This operation') {
  return new ApiError(
    403,
    'insufficient_scope',
    `${doing} needs the \`${scope}\` scope, which this API key does not have.`,
  )
}

/** Stored as space-separated text (as OAuth writes scopes); NULL means full access. */
export const encodeGrant = (grant: Grant) => (grant === null ? null : grant.join(' '))

export function decodeGrant(stored: string | null): Grant {
  if (stored === null) return null
  return stored.split(' ').filter(isScope)
}
