/**
 * Admin sessions and one-time sign-in links, as D1 keeps them: a random secret is handed out (the
 * admin's cookie carries it, admin/session.ts) and D1 keeps only its SHA-256, so sign-out, expiry
 * and revoking the API key used to sign in all end a session on its next request. Live feeds opened
 * from an admin page ask here whether their session is still signed in (hub/credentials.ts).
 */
import { and, eq, gt, isNull } from 'drizzle-orm'
import type { Db } from '../db/client'
import { adminSessions, apiKeys, signInTokens } from '../db/schema'
import type { AdminSession } from '../env'
import { hashApiKey, looksLikeApiKey, toHex } from './keys'
import { findActiveKeyByHash } from './queries'

export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000
export const SIGN_IN_LINK_TTL_MS = 24 * 3600 * 1000

function randomSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)).buffer as ArrayBuffer)
}

/** Starts a new session (a fresh secret at every sign-in) and returns its secret. */
export async function createAdminSession(db: Db, merchantId: string, apiKeyId: string | null) {
  const secret = randomSecret()
  const now = Date.now()
  await db.insert(adminSessions).values({
    hash: await hashApiKey(secret),
    merchantId,
    apiKeyId,
    createdAt: now,
    expiresAt: now + SESSION_TTL_MS,
  })
  return secret
}

/** The merchant a key signs in as, or undefined for a wrong or revoked key. */
export async function merchantForKey(db: Db, key: string) {
  const trimmed = key.trim()
  if (!looksLikeApiKey(trimmed)) return undefined
  return findActiveKeyByHash(db, await hashApiKey(trimmed))
}

/** The signed-in session with this hash: not ended, not expired, its sign-in key not revoked. */
async function liveSession(db: Db, hash: string) {
  const [row] = await db
    .select({
      merchantId: adminSessions.merchantId,
      apiKeyId: adminSessions.apiKeyId,
      keyRevokedAt: apiKeys.revokedAt,
    })
    .from(adminSessions)
    .leftJoin(apiKeys, eq(apiKeys.id, adminSessions.apiKeyId))
    .where(
      and(
        eq(adminSessions.hash, hash),
        isNull(adminSessions.endedAt),
        gt(adminSessions.expiresAt, Date.now()),
      ),
    )
  return row && row.keyRevokedAt === null ? row : undefined
}

/** The session a secret (from its cookie) belongs to, while it is still signed in. */
export async function findAdminSession(db: Db, secret: string): Promise<AdminSession | undefined> {
  const hash = await hashApiKey(secret)
  const row = await liveSession(db, hash)
  if (!row) return undefined
  return {
    merchantId: row.merchantId,
    sessionHash: hash,
    actor: row.apiKeyId ? `admin:${row.apiKeyId}` : 'admin:link',
  }
}

/** Signs a session out (by hash): it is not live from now on, whoever holds its secret. */
export async function endAdminSession(db: Db, hash: string) {
  await db.update(adminSessions).set({ endedAt: Date.now() }).where(eq(adminSessions.hash, hash))
}

/** Live tokens issued to an admin page name its session: `admin:<session hash>`. */
export const ADMIN_SUBJECT = 'admin:'

/** Whether an admin session (by hash) is still signed in (live tokens check it). */
export async function isAdminSessionActive(db: Db, hash: string): Promise<boolean> {
  return (await liveSession(db, hash)) !== undefined
}

/** Creates a one-time sign-in link token (for `npm run merchant:create`). */
export async function createSignInToken(db: Db, merchantId: string) {
  const token = randomSecret()
  await db.insert(signInTokens).values({
    hash: await hashApiKey(token),
    merchantId,
    expiresAt: Date.now() + SIGN_IN_LINK_TTL_MS,
  })
  return token
}

/** Spends a sign-in token: returns its merchant once, then never again. */
export async function redeemSignInToken(db: Db, token: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{64}$/.test(token)) return undefined
  const hash = await hashApiKey(token)
  const [row] = await db
    .update(signInTokens)
    .set({ usedAt: Date.now() })
    .where(
      and(
        eq(signInTokens.hash, hash),
        isNull(signInTokens.usedAt),
        gt(signInTokens.expiresAt, Date.now()),
      ),
    )
    .returning({ merchantId: signInTokens.merchantId })
  return row?.merchantId
}
