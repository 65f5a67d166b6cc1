/**
 * Admin sign-in. The cookie (`__Host-`, HttpOnly, Secure, SameSite=Lax, signed with SESSION_SECRET)
 * carries a random session secret; D1 keeps only its SHA-256, so sign-out, expiry and revoking
 * the API key used to sign in all end the session on the next request.
 */
import { and, eq, gt, isNull } from 'drizzle-orm'
import type { Context } from 'hono'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import { hashApiKey, looksLikeApiKey, toHex } from '../auth/keys'
import { findActiveKeyByHash } from '../auth/queries'
import { createDb, type Db } from '../db/client'
import { adminSessions, apiKeys, signInTokens } from '../db/schema'
import type { AdminSession, AppEnv } from '../env'

/** On the wire: `__Host-qrc_session` (Hono adds the prefix and enforces its rules). */
export const SESSION_COOKIE = 'qrc_session'
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000
export const SIGN_IN_LINK_TTL_MS = 24 * 3600 * 1000

function randomSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)).buffer as ArrayBuffer)
}

/** Starts a new session (a fresh id at every sign-in) and sets its cookie. */
export async function startSession(
  c: Context<AppEnv>,
  db: Db,
  merchantId: string,
  apiKeyId: string | null,
) {
  const secret = randomSecret()
  const now = Date.now()
  await db.insert(adminSessions).values({
    hash: await hashApiKey(secret),
    merchantId,
    apiKeyId,
    createdAt: now,
    expiresAt: now + SESSION_TTL_MS,
  })
  await setSignedCookie(c, SESSION_COOKIE, secret, sessionSecret(c), {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: SESSION_TTL_MS / 1000,
    prefix: 'host',
  })
}

export function sessionSecret(c: Context<AppEnv>): string {
  const secret = c.env.SESSION_SECRET
  if (!secret) throw new Error('SESSION_SECRET is not configured')
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

async function currentSession(c: Context<AppEnv>, db: Db): Promise<AdminSession | undefined> {
  if (!c.env.SESSION_SECRET) return undefined
  const secret = await getSignedCookie(c, c.env.SESSION_SECRET, SESSION_COOKIE, 'host')
  if (!secret) return undefined
  const hash = await hashApiKey(secret)
  const row = await liveSession(db, hash)
  if (!row) return undefined
  return {
    merchantId: row.merchantId,
    sessionHash: hash,
    actor: row.apiKeyId ? `admin:${row.apiKeyId}` : 'admin:link',
  }
}

/** Pages behind it see `c.var.admin`; everyone else goes to the sign-in page. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const db = createDb(c.env.DB)
  c.set('db', db)
  const session = await currentSession(c, db)
  if (!session) return c.redirect('/admin/login', 303)
  c.set('admin', session)
  await next()
})

export async function endSession(c: Context<AppEnv>) {
  await c.var.db
    .update(adminSessions)
    .set({ endedAt: Date.now() })
    .where(eq(adminSessions.hash, c.var.admin.sessionHash))
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' })
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
