/**
 * The admin's sign-in cookie (`__Host-`, HttpOnly, Secure, SameSite=Lax, signed with
 * SESSION_SECRET): it carries the random secret of a session that auth/sessions.ts keeps in D1,
 * and pages behind `requireAdmin` see whose session it is.
 */
import type { Context } from 'hono'
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import {
  createAdminSession,
  endAdminSession,
  findAdminSession,
  SESSION_TTL_MS,
} from '../auth/sessions'
import { createDb, type Db } from '../db/client'
import type { AdminSession, AppEnv } from '../env'

/** On the wire: `__Host-qrc_session` (Hono adds the prefix and enforces its rules). */
export const SESSION_COOKIE = 'qrc_session'

/** Starts a new session (a fresh id at every sign-in) and sets its cookie. */
export async function startSession(
  c: Context<AppEnv>,
  db: Db,
  merchantId: string,
  apiKeyId: string | null,
) {
  const secret = await createAdminSession(db, merchantId, apiKeyId)
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

async function currentSession(c: Context<AppEnv>, db: Db): Promise<AdminSession | undefined> {
  if (!c.env.SESSION_SECRET) return undefined
  const secret = await getSignedCookie(c, c.env.SESSION_SECRET, SESSION_COOKIE, 'host')
  if (!secret) return undefined
  return findAdminSession(db, secret)
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
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' })
}
