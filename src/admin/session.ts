/**
 * The admin's sign-in cookie (`__Host-`, HttpOnly, Secure, SameSite=Lax, signed with
 * SESSION_SECRET): it carries the random secret of a session that auth/sessions.ts keeps in D1,
 * and pages behind `requireAdmin` see whose session it is. Each request through it counts as a
 * use of the session (recorded at most every SESSION_TOUCH_EVERY_MS), which keeps it from idling
 * out.
 */
import type { Context } from 'hono'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import {
  createAdminSession,
  endAdminSession,
  findAdminSession,
  isTouchDue,
  SESSION_TTL_MS,
  touchAdminSession,
} from '../auth/sessions'
import { createDb, type Db } from '../db/client'
import type { AdminSession, AppEnv } from '../env'
import { classifyClient } from '../scan/classify'

/** On the wire: `__Host-qrc_session` (Hono adds the prefix and enforces its rules). */
export const SESSION_COOKIE = 'qrc_session'

/**
 * Starts a new session (a fresh id at every sign-in) and sets its cookie. The session this
 * browser's cookie still names, if any, ends: one browser, one session.
 */
export async function startSession(
  c: Context<AppEnv>,
  db: Db,
  merchantId: string,
  apiKeyId: string | null,
) {
  const previous = await cookieSecret(c)
  const secret = await createAdminSession(db, {
    merchantId,
    apiKeyId,
    client: clientSummary(c.req.header('user-agent') ?? null),
    replaces: previous,
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

/** "Firefox on Linux", for the sessions list; null when the User-Agent names neither. */
export function clientSummary(userAgent: string | null): string | null {
  const { browser, os } = classifyClient(userAgent)
  const summary = browser && os ? `${browser} on ${os}` : (browser ?? os)
  return summary ? summary.slice(0, 80) : null
}

export function sessionSecret(c: Context<AppEnv>): string {
  const secret = c.env.SESSION_SECRET
  if (!secret) throw new Error('SESSION_SECRET is not configured')
  return secret
}

/** The session secret in the cookie, only if its signature is ours. */
async function cookieSecret(c: Context<AppEnv>): Promise<string | undefined> {
  if (!c.env.SESSION_SECRET) return undefined
  const secret = await getSignedCookie(c, c.env.SESSION_SECRET, SESSION_COOKIE, 'host')
  return secret || undefined
}

async function currentSession(c: Context<AppEnv>, db: Db): Promise<AdminSession | undefined> {
  const secret = await cookieSecret(c)
  if (!secret) return undefined
  const now = Date.now()
  const found = await findAdminSession(db, secret, now)
  if (!found) return undefined
  if (isTouchDue(found.lastUsedAt, now)) {
    c.executionCtx.waitUntil(touchAdminSession(db, found.sessionHash, now).catch(() => {}))
  }
  return { merchantId: found.merchantId, sessionHash: found.sessionHash, actor: found.actor }
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
  await endAdminSession(c.var.db, c.var.admin.sessionHash)
  forgetSessionCookie(c)
}

/** Clears this browser's cookie (its session is ended in D1 by the caller). */
export function forgetSessionCookie(c: Context<AppEnv>) {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' })
}
