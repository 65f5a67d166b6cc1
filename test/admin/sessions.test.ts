/**
 * Admin sessions (src/auth/sessions.ts, docs/trust.md "Sessions and CSRF"): the cookie's signature
 * is checked, a new sign-in replaces the browser's session, sessions idle out, Settings lists them
 * and "sign out everywhere" ends them all, link sessions included.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createSignInToken, SESSION_IDLE_MS, SESSION_TOUCH_EVERY_MS } from '../../src/auth/sessions'
import { createDb } from '../../src/db/client'
import { call, IPHONE, newMerchant } from '../helpers'
import { AdminClient } from './client'

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0'

/** Opens `/admin` with exactly this session cookie value: 200 if signed in, else 303. */
async function openWith(value: string) {
  return (await call('/admin', { headers: { cookie: `__Host-qrc_session=${value}` } })).status
}

/** A base64 HMAC-SHA256 of `value` under `key`: how hono signs a cookie. */
async function hmac(value: string, key: string) {
  const enc = new TextEncoder()
  const k = await crypto.subtle.importKey(
    'raw',
    enc.encode(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const signature = await crypto.subtle.sign('HMAC', k, enc.encode(value))
  return btoa(String.fromCharCode(...new Uint8Array(signature)))
}

async function sessionRow(admin: AdminClient) {
  return env.DB.prepare(
    'select last_used_at, ended_at, client, api_key_id from admin_sessions where hash = ?',
  )
    .bind(await admin.sessionHash())
    .first<{
      last_used_at: number
      ended_at: number | null
      client: string | null
      api_key_id: string | null
    }>()
}

/** Moves the session's last recorded use `ago` ms into the past. */
async function lastUsedAgo(admin: AdminClient, ago: number) {
  await env.DB.prepare('update admin_sessions set last_used_at = ? where hash = ?')
    .bind(Date.now() - ago, await admin.sessionHash())
    .run()
}

async function signInWithLink(merchantId: string, headers: Record<string, string> = {}) {
  const token = await createSignInToken(createDb(env.DB), merchantId)
  const admin = new AdminClient()
  admin.headers = headers
  expect((await admin.post(`/admin/login/link/${token}`)).status).toBe(303)
  return admin
}

describe("the session cookie's signature", () => {
  it("refuses a real session's secret sent without its signature", async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const { secret, signature } = admin.signedSecret
    expect(await openWith(encodeURIComponent(`${secret}.${signature}`))).toBe(200)
    expect(await openWith(secret)).toBe(303)
    expect(await openWith(`${secret}.`)).toBe(303)
  })

  it("refuses a real session's secret with a wrong signature", async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const other = await AdminClient.signIn(key)
    const { secret } = admin.signedSecret
    // Signed with another secret than the server's…
    const foreign = await hmac(secret, 'not-the-session-secret')
    expect(await openWith(encodeURIComponent(`${secret}.${foreign}`))).toBe(303)
    // …or the server's own signature, of another session's secret.
    const swapped = other.signedSecret.signature
    expect(await openWith(encodeURIComponent(`${secret}.${swapped}`))).toBe(303)
    // Both sessions are still live with their own cookies.
    expect((await admin.get('/admin')).status).toBe(200)
    expect((await other.get('/admin')).status).toBe(200)
  })
})

describe('a new sign-in on a browser', () => {
  it("replaces that browser's session, with a key or a one-time link; other browsers stay", async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const elsewhere = await AdminClient.signIn(key)
    const first = admin.cookie
    const firstRow = await admin.sessionHash()

    expect((await admin.post('/admin/login', { api_key: key })).status).toBe(303)
    expect(admin.cookie).not.toBe(first)
    expect((await call('/admin', { headers: { cookie: first } })).status).toBe(303)
    const ended = await env.DB.prepare('select ended_at from admin_sessions where hash = ?')
      .bind(firstRow)
      .first<{ ended_at: number | null }>()
    expect(ended?.ended_at).not.toBeNull()
    expect((await admin.get('/admin')).status).toBe(200)

    const second = admin.cookie
    const token = await createSignInToken(createDb(env.DB), merchantId)
    expect((await admin.post(`/admin/login/link/${token}`)).status).toBe(303)
    expect((await call('/admin', { headers: { cookie: second } })).status).toBe(303)
    expect((await admin.get('/admin')).status).toBe(200)

    expect((await elsewhere.get('/admin')).status).toBe(200)
  })
})

describe('the idle timeout', () => {
  it('refuses and ends a session unused for 12 hours, however young', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    await lastUsedAgo(admin, SESSION_IDLE_MS)
    expect((await admin.get('/admin')).status).toBe(303)
    expect((await sessionRow(admin))?.ended_at).not.toBeNull()
  })

  it('keeps a session used within 12 hours, and using it records the use', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    await lastUsedAgo(admin, SESSION_IDLE_MS - 60_000)
    const before = Date.now()
    expect((await admin.get('/admin/settings')).status).toBe(200)
    expect((await sessionRow(admin))?.last_used_at).toBeGreaterThanOrEqual(before)
  })

  it(`writes the last use at most every ${SESSION_TOUCH_EVERY_MS / 60_000} minutes`, async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    await lastUsedAgo(admin, SESSION_TOUCH_EVERY_MS - 60_000)
    const recorded = (await sessionRow(admin))?.last_used_at
    for (let i = 0; i < 3; i++) expect((await admin.get('/admin')).status).toBe(200)
    expect((await sessionRow(admin))?.last_used_at).toBe(recorded)
  })

  it('still ends every session 7 days after sign-in, however used', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    await env.DB.prepare('update admin_sessions set expires_at = ? where hash = ?')
      .bind(Date.now() - 1, await admin.sessionHash())
      .run()
    expect((await admin.get('/admin')).status).toBe(303)
  })
})

describe("Settings' sessions and sign out everywhere", () => {
  it('lists live sessions: how each started, its browser, the current one marked', async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key, { 'user-agent': FIREFOX })
    await signInWithLink(merchantId, { 'user-agent': IPHONE })
    const gone = await AdminClient.signIn(key)
    await gone.post('/admin/logout')
    const other = await newMerchant('Other')
    await AdminClient.signIn(other.key, { 'user-agent': IPHONE })

    expect((await sessionRow(admin))?.client).toBe('Firefox on Linux')
    const page = await (await admin.get('/admin/settings')).text()
    const section = page.slice(page.indexOf('Signed-in sessions'))
    const rows = section.slice(0, section.indexOf('</tbody>')).split('<tr>').slice(2)
    expect(rows).toHaveLength(2)
    const mine = rows.find((r) => r.includes('Firefox on Linux')) ?? ''
    expect(mine).toContain('API key test')
    expect(mine).toContain('this browser')
    const link = rows.find((r) => r.includes('Safari on iOS')) ?? ''
    expect(link).toContain('One-time link')
    expect(link).not.toContain('this browser')
    expect(section).toContain('action="/admin/logout/everywhere"')
  })

  it('ends every session of the merchant, link sessions that key revocation spares included', async () => {
    const { key, keyId, merchantId } = await newMerchant()
    const byKey = await AdminClient.signIn(key)
    const byLink = await signInWithLink(merchantId)
    const unused = await createSignInToken(createDb(env.DB), merchantId)
    const other = await newMerchant('Other')
    const otherAdmin = await AdminClient.signIn(other.key)

    // Revoking the key ends the sessions it started, not the link's (it is tied to no key)…
    await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    expect((await byKey.get('/admin')).status).toBe(303)
    expect((await byLink.get('/admin')).status).toBe(200)

    // …signing out everywhere does, and spends the links not used yet.
    const elsewhere = await signInWithLink(merchantId)
    const linkCookie = byLink.cookie
    const out = await byLink.post('/admin/logout/everywhere')
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/admin/login')
    expect(byLink.cookie).toBe('')
    expect((await call('/admin', { headers: { cookie: linkCookie } })).status).toBe(303)
    expect((await elsewhere.get('/admin')).status).toBe(303)
    const live = await env.DB.prepare(
      'select count(*) as n from admin_sessions where merchant_id = ? and ended_at is null',
    )
      .bind(merchantId)
      .first<{ n: number }>()
    expect(live?.n).toBe(0)
    expect((await new AdminClient().post(`/admin/login/link/${unused}`)).status).toBe(400)

    // Another merchant's session is not touched.
    expect((await otherAdmin.get('/admin')).status).toBe(200)
  })

  it('needs a signed-in session and a same-origin post', async () => {
    const { key } = await newMerchant()
    expect((await new AdminClient().post('/admin/logout/everywhere')).status).toBe(303)
    const admin = await AdminClient.signIn(key)
    const forged = await admin.post('/admin/logout/everywhere', {}, 'https://evil.example')
    expect(forged.status).toBe(403)
    expect((await admin.get('/admin')).status).toBe(200)
  })
})
