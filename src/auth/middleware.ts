import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv, AuthedMerchant } from '../env'
import { ApiError } from '../errors'
import { hashApiKey, looksLikeApiKey } from './keys'
import { findActiveKeyByHash, touchApiKey } from './queries'

/** `last_used_at` is advisory: write it at most once a minute per key, off the response path. */
const TOUCH_EVERY_MS = 60_000

/** Authenticates `Authorization: Bearer <api key>`; throws 401 otherwise. */
export async function authenticateApiKey(c: Context<AppEnv>): Promise<AuthedMerchant> {
  const header = c.req.header('authorization') ?? ''
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  const key = match?.[1]
  if (!key || !looksLikeApiKey(key))
    throw unauthorized(key ? 'The API key is malformed.' : undefined)
  const found = await findActiveKeyByHash(c.var.db, await hashApiKey(key))
  if (!found) throw unauthorized('The API key is unknown or has been revoked.')
  const now = Date.now()
  if (found.lastUsedAt === null || now - found.lastUsedAt > TOUCH_EVERY_MS) {
    c.executionCtx.waitUntil(touchApiKey(c.var.db, found.id, now).catch(() => {}))
  }
  return { merchantId: found.merchantId, apiKeyId: found.id, scopes: found.scopes }
}

/** Scopes the request to the merchant of its API key. */
export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  c.set('auth', await authenticateApiKey(c))
  await next()
})

export function unauthorized(detail = 'Send your API key as `Authorization: Bearer qrk_…`.') {
  return new ApiError(401, 'unauthorized', detail)
}
