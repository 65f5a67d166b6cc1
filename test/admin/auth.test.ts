import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createSignInToken } from '../../src/auth/sessions'
import { createDb } from '../../src/db/client'
import { call, newMerchant, postForm } from '../helpers'
import { AdminClient } from './client'

describe('admin sign-in and sessions', () => {
  it('signs in with an API key, setting a __Host- session cookie with the safe attributes', async () => {
    const { key } = await newMerchant()
    const response = await postForm('/admin/login', { api_key: key })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('/admin')
    const cookie = response.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^__Host-qrc_session=/)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/Secure/)
    expect(cookie).toMatch(/SameSite=Lax/)
    expect(cookie).toMatch(/Path=\//)
    expect(cookie).not.toMatch(/Domain=/)
    expect(cookie).not.toContain(key)
  })

  it('shows the codes page to a signed-in merchant, never cacheable, with a strict CSP', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const page = await admin.get('/admin')
    expect(page.status).toBe(200)
    expect(page.headers.get('cache-control')).toBe('no-store')
    const csp = page.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(await page.text()).toContain('Café Luna')
  })

  it('sends visitors without a session to the sign-in page', async () => {
    for (const path of ['/admin', '/admin/payments', '/admin/settings', '/admin/codes/new']) {
      const response = await call(path)
      expect(response.status, path).toBe(303)
      expect(response.headers.get('location')).toBe('/admin/login')
    }
  })

  it('refuses a wrong key with a clear message and no cookie', async () => {
    const response = await new AdminClient().post('/admin/login', {
      api_key: `qrk_${'x'.repeat(32)}`,
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('set-cookie')).toBeNull()
    expect(await response.text()).toContain('not valid')
  })

  it('rate-limits sign-in attempts per IP', async () => {
    const attempt = () =>
      postForm('/admin/login', 'api_key=nope', { headers: { 'cf-connecting-ip': '192.0.2.77' } })
    // Fixed one-minute windows: 10 attempts, or up to 20 if a window turns over mid-test.
    let tries = 1
    let response = await attempt()
    while (response.status === 401 && tries < 25) {
      tries++
      response = await attempt()
    }
    expect(response.status).toBe(429)
    expect(tries).toBeGreaterThanOrEqual(11)
    expect(tries).toBeLessThanOrEqual(21)
  })

  it('ignores a forged or unsigned cookie', async () => {
    const forged = await call('/admin', { headers: { cookie: '__Host-qrc_session=abc.def' } })
    expect(forged.status).toBe(303)
  })

  it('ends the session on sign-out, so the old cookie stops working', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const cookie = admin.cookie
    const out = await admin.post('/admin/logout')
    expect(out.status).toBe(303)
    const replay = await call('/admin', { headers: { cookie } })
    expect(replay.status).toBe(303)
  })

  it('ends the session when the API key used to sign in is revoked', async () => {
    const { key, keyId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    expect((await admin.get('/admin')).status).toBe(200)
    await call(`/api/v1/api-keys/${keyId}`, { key, method: 'DELETE' })
    expect((await admin.get('/admin')).status).toBe(303)
  })

  it('rotates the session at every sign-in', async () => {
    const { key } = await newMerchant()
    const first = await AdminClient.signIn(key)
    const second = await AdminClient.signIn(key)
    expect(first.cookie).not.toBe(second.cookie)
  })

  it('signs in once with a one-time link; the link is spent after', async () => {
    const { merchantId } = await newMerchant()
    const token = await createSignInToken(createDb(env.DB), merchantId)
    const landing = await call(`/admin/login/link/${token}`)
    expect(landing.status).toBe(200)
    expect(await landing.text()).toContain('Sign in')
    const admin = new AdminClient()
    expect((await admin.post(`/admin/login/link/${token}`)).status).toBe(303)
    expect((await admin.get('/admin')).status).toBe(200)
    expect((await new AdminClient().post(`/admin/login/link/${token}`)).status).toBe(400)
    expect((await new AdminClient().post('/admin/login/link/not-a-token')).status).toBe(400)
  })

  it('refuses cross-site form posts (CSRF)', async () => {
    const { key } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const response = await admin.post('/admin/settings', { name: 'Hacked' }, 'https://evil.example')
    expect(response.status).toBe(403)
    const { results } = await env.DB.prepare(
      "select count(*) as n from merchants where name = 'Hacked'",
    ).all()
    expect(results[0]?.n).toBe(0)
  })
})
