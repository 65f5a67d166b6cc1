/**
 * Admin sessions and one-time sign-in links, as D1 keeps them: a random secret is handed out (the
 * admin's cookie carries it, admin/session.ts) and D1 keeps only its SHA-256. A session is live
 * until it is signed out (itself, or with every other session of its merchant: "sign out
 * everywhere"), replaced by a new sign-in on the same browser, idle for SESSION_IDLE_MS, 7 days
 * old, or until the API key it signed in with is revoked. A session from a one-time link has no
 * key, so revoking keys cannot end it: "sign out everywhere" does. Every check happens on the
 * session's next request; live feeds opened from an admin page ask here too (hub/credentials.ts).
 */
import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { adminSessions, apiKeys, signInTokens } from '../db/schema'
import type { AdminSession } from '../env'
import { hashApiKey, looksLikeApiKey, toHex } from './keys'
import { findActiveKeyByHash } from './queries'

/** The cap: a session ends 7 days after sign-in, however much it is used. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000
/** A session not used for this long ends (a browser left signed in on a shared computer). */
export const SESSION_IDLE_MS = 12 * 3600 * 1000
/**
 * `last_used_at` is written at most this often, off the response path, so an admin click is not
 * a D1 write: the idle timeout may end a session up to this much early, and Settings shows the
 * last use to within it.
 */
export const SESSION_TOUCH_EVERY_MS = 5 * 60_000
export const SIGN_IN_LINK_TTL_MS = 24 * 3600 * 1000

function randomSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)).buffer as ArrayBuffer)
}

/** The moment a session last counted as used: rows from before `last_used_at` have none. */
const lastUsed = sql<number>`coalesce(${adminSessions.lastUsedAt}, ${adminSessions.createdAt})`

export interface NewSession {
  merchantId: string
  /** Null for a one-time sign-in link. */
  apiKeyId: string | null
  /** What the browser is ("Firefox on Linux"), for the list in Settings. */
  client: string | null
  /** The secret of the session this browser had until now, if any: that session ends. */
  replaces?: string
}

/** Starts a new session (a fresh secret at every sign-in) and returns its secret. */
export async function createAdminSession(db: Db, session: NewSession) {
  const secret = randomSecret()
  const now = Date.now()
  const insert = db.insert(adminSessions).values({
    hash: await hashApiKey(secret),
    merchantId: session.merchantId,
    apiKeyId: session.apiKeyId,
    client: session.client,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + SESSION_TTL_MS,
  })
  // One transaction: the browser never holds two live sessions, nor loses both.
  if (session.replaces) {
    await db.batch([endQuery(db, await hashApiKey(session.replaces), now), insert])
  } else await insert
  return secret
}

/** The merchant a key signs in as, or undefined for a wrong or revoked key. */
export async function merchantForKey(db: Db, key: string) {
  const trimmed = key.trim()
  if (!looksLikeApiKey(trimmed)) return undefined
  return findActiveKeyByHash(db, await hashApiKey(trimmed))
}

/**
 * The signed-in session with this hash: not ended, not expired, not idle, its sign-in key not
 * revoked. A session found idle is ended here, so it stays ended whatever happens to the clock.
 */
async function liveSession(db: Db, hash: string, now: number) {
  const [row] = await db
    .select({
      merchantId: adminSessions.merchantId,
      apiKeyId: adminSessions.apiKeyId,
      lastUsedAt: lastUsed,
      keyRevokedAt: apiKeys.revokedAt,
    })
    .from(adminSessions)
    .leftJoin(apiKeys, eq(apiKeys.id, adminSessions.apiKeyId))
    .where(
      and(
        eq(adminSessions.hash, hash),
        isNull(adminSessions.endedAt),
        gt(adminSessions.expiresAt, now),
      ),
    )
  if (!row || row.keyRevokedAt !== null) return undefined
  if (now - row.lastUsedAt >= SESSION_IDLE_MS) {
    await endQuery(db, hash, now)
    return undefined
  }
  return row
}

/** A live session, and when it was last recorded as used (to know whether to record it again). */
export interface FoundSession extends AdminSession {
  lastUsedAt: number
}

/** The session a secret (from its cookie) belongs to, while it is still signed in. */
export async function findAdminSession(
  db: Db,
  secret: string,
  now = Date.now(),
): Promise<FoundSession | undefined> {
  const hash = await hashApiKey(secret)
  const row = await liveSession(db, hash, now)
  if (!row) return undefined
  return {
    merchantId: row.merchantId,
    sessionHash: hash,
    actor: row.apiKeyId ? `admin:${row.apiKeyId}` : 'admin:link',
    lastUsedAt: row.lastUsedAt,
  }
}

/** Whether a session last recorded as used at `lastUsedAt` is due to be recorded again. */
export const isTouchDue = (lastUsedAt: number, now: number) =>
  now - lastUsedAt >= SESSION_TOUCH_EVERY_MS

/** Records a use of a live session (what keeps it from idling out). */
export async function touchAdminSession(db: Db, hash: string, now: number) {
  await db
    .update(adminSessions)
    .set({ lastUsedAt: now })
    .where(and(eq(adminSessions.hash, hash), isNull(adminSessions.endedAt)))
}

function endQuery(db: Db, hash: string, now: number) {
  return db
    .update(adminSessions)
    .set({ endedAt: now })
    .where(and(eq(adminSessions.hash, hash), isNull(adminSessions.endedAt)))
}

/** Signs a session out (by hash): it is not live from now on, whoever holds its secret. */
export async function endAdminSession(db: Db, hash: string) {
  await endQuery(db, hash, Date.now())
}

/**
 * "Sign out everywhere": ends every session of the merchant, those from one-time links included,
 * and expires its unused sign-in links, which would otherwise start a session after it.
 */
export async function endMerchantSessions(db: Db, merchantId: string, now = Date.now()) {
  await db.batch([
    db
      .update(adminSessions)
      .set({ endedAt: now })
      .where(and(eq(adminSessions.merchantId, merchantId), isNull(adminSessions.endedAt))),
    db
      .update(signInTokens)
      .set({ expiresAt: now })
      .where(
        and(
          eq(signInTokens.merchantId, merchantId),
          isNull(signInTokens.usedAt),
          gt(signInTokens.expiresAt, now),
        ),
      ),
  ])
}

/** A live session as Settings lists it. */
export interface SessionListing {
  hash: string
  createdAt: number
  lastUsedAt: number
  client: string | null
  /** The key it signed in with; null for a one-time link. */
  key: { name: string; last4: string } | null
}

/** The merchant's live sessions, most recently used first, at most `limit`. */
export async function listAdminSessions(
  db: Db,
  merchantId: string,
  limit: number,
  now = Date.now(),
): Promise<SessionListing[]> {
  const rows = await db
    .select({
      hash: adminSessions.hash,
      createdAt: adminSessions.createdAt,
      lastUsedAt: lastUsed,
      client: adminSessions.client,
      apiKeyId: adminSessions.apiKeyId,
      keyName: apiKeys.name,
      keyLast4: apiKeys.last4,
    })
    .from(adminSessions)
    .leftJoin(apiKeys, eq(apiKeys.id, adminSessions.apiKeyId))
    .where(
      and(
        eq(adminSessions.merchantId, merchantId),
        isNull(adminSessions.endedAt),
        gt(adminSessions.expiresAt, now),
        gt(lastUsed, now - SESSION_IDLE_MS),
        or(isNull(adminSessions.apiKeyId), isNull(apiKeys.revokedAt)),
      ),
    )
    .orderBy(desc(lastUsed), desc(adminSessions.createdAt))
    .limit(limit)
  return rows.map((r) => ({
    hash: r.hash,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    client: r.client,
    key: r.apiKeyId && r.keyName !== null ? { name: r.keyName, last4: r.keyLast4 ?? '' } : null,
  }))
}

/** Live tokens issued to an admin page name its session: `admin:<session hash>`. */
export const ADMIN_SUBJECT = 'admin:'

/** Whether an admin session (by hash) is still signed in (live tokens check it). */
export async function isAdminSessionActive(db: Db, hash: string): Promise<boolean> {
  return (await liveSession(db, hash, Date.now())) !== undefined
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
