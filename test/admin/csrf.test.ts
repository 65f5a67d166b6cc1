/**
 * CSRF on the admin: every unsafe request with the session cookie must come from a page of ours
 * (its Origin, else its Sec-Fetch-Site), whatever content type it claims — hono's csrf() looked at
 * form bodies only, so a JSON POST without Origin created an API key.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, newMerchant, ORIGIN, problemOf } from '../helpers'
import { AdminClient } from './client'

/** How many API keys the merchant has (newMerchant makes one). */
async function keyCount(merchantId: string) {
  const row = await env.DB.prepare('select count(*) as n from api_keys where merchant_id = ?')
    .bind(merchantId)
    .first<{ n: number }>()
  return row?.n ?? 0
}

/** Sends `method path` with the signed-in cookie and exactly `headers` besides (no Origin). */
function send(
  admin: AdminClient,
  path: string,
  headers: Record<string, string>,
  options: { method?: string; body?: string } = {},
) {
  // Bytes, not a string: a string body would get `text/plain` from the Request constructor.
  return call(path, {
    method: options.method ?? 'POST',
    body: new TextEncoder().encode(options.body ?? 'name=Sneaky'),
    headers: { cookie: admin.cookie, 'cf-connecting-ip': admin.ip, ...headers },
    env: admin.bindings,
  })
}

async function signedIn() {
  const { key, merchantId } = await newMerchant()
  return { admin: await AdminClient.signIn(key), merchantId }
}

/** Content types a forged request may claim; `undefined` sends none. */
const CONTENT_TYPES: (string | undefined)[] = [
  'application/json',
  'application/x-foo',
  undefined,
  'application/x-www-form-urlencoded',
]

describe('admin CSRF, whatever the content type', () => {
  for (const type of CONTENT_TYPES) {
    const typed: Record<string, string> = type ? { 'content-type': type } : {}
    const label = type ?? 'no content type'

    it(`refuses ${label} without Origin or Sec-Fetch-Site, saying why, and creates no key`, async () => {
      const { admin, merchantId } = await signedIn()
      const body = type === 'application/json' ? '{"name":"Sneaky"}' : undefined
      const response = await send(admin, '/admin/settings/keys', typed, { body })
      expect(response.status).toBe(403)
      expect(await response.text()).toContain('This form was sent without an Origin header')
      expect(await keyCount(merchantId)).toBe(1)
    })

    it(`refuses ${label} from another origin, naming both`, async () => {
      const { admin, merchantId } = await signedIn()
      const response = await send(admin, '/admin/settings/keys', {
        ...typed,
        origin: 'https://evil.example',
      })
      expect(response.status).toBe(403)
      expect(await response.text()).toContain(
        `This form was sent from https://evil.example, not from this site (${ORIGIN})`,
      )
      expect(await keyCount(merchantId)).toBe(1)
    })

    for (const site of ['same-site', 'cross-site', 'none', 'garbage']) {
      it(`refuses ${label} without Origin and with Sec-Fetch-Site: ${site}`, async () => {
        const { admin, merchantId } = await signedIn()
        const response = await send(admin, '/admin/settings/keys', {
          ...typed,
          'sec-fetch-site': site,
        })
        expect(response.status).toBe(403)
        expect(await response.text()).toContain(`Sec-Fetch-Site: ${site}`)
        expect(await keyCount(merchantId)).toBe(1)
      })
    }

    it(`accepts ${label} from our own origin, and without Origin when Sec-Fetch-Site is same-origin`, async () => {
      const { admin, merchantId } = await signedIn()
      const withOrigin = await send(admin, '/admin/settings/keys', { ...typed, origin: ORIGIN })
      expect(withOrigin.status).toBe(200)
      const fetchSite = await send(admin, '/admin/settings/keys', {
        ...typed,
        'sec-fetch-site': 'same-origin',
      })
      expect(fetchSite.status).toBe(200)
      expect(await keyCount(merchantId)).toBe(3)
    })
  }

  it('refuses Origin: null, even with Sec-Fetch-Site: same-origin (the Origin decides)', async () => {
    const { admin, merchantId } = await signedIn()
    const response = await send(admin, '/admin/settings/keys', {
      'content-type': 'application/json',
      origin: 'null',
      'sec-fetch-site': 'same-origin',
    })
    expect(response.status).toBe(403)
    expect(await response.text()).toContain('sent from a page that does not say its origin')
    expect(await keyCount(merchantId)).toBe(1)
  })

  it('checks PUT, PATCH and DELETE too, before any route answers', async () => {
    const { admin } = await signedIn()
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const response = await send(
        admin,
        '/admin/settings/keys',
        { 'content-type': 'application/json', origin: 'https://evil.example' },
        { method, body: '{}' },
      )
      expect(response.status, method).toBe(403)
    }
    // Reads are never checked: a link from another site opens the admin.
    const read = await call('/admin/settings', {
      headers: {
        cookie: admin.cookie,
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
    })
    expect(read.status).toBe(200)
  })

  it("answers the admin's JSON endpoint with a problem that says why", async () => {
    const { admin } = await signedIn()
    const response = await send(
      admin,
      '/admin/codes/cod_x/live-token',
      { 'content-type': 'application/json' },
      { body: '{}' },
    )
    expect(response.status).toBe(403)
    const problem = await problemOf(response)
    expect(problem.code).toBe('validation_failed')
    expect(problem.detail).toContain('This form was sent without an Origin header')
  })

  it('takes the public base URL, when configured, as our origin rather than the Host', async () => {
    const { admin, merchantId } = await signedIn()
    admin.bindings = { PUBLIC_BASE_URL: 'https://pay.example/' }
    const json = { 'content-type': 'application/json' }
    // The request's own origin (a Host the client chose) is not ours any more…
    const byHost = await send(admin, '/admin/settings/keys', { ...json, origin: ORIGIN })
    expect(byHost.status).toBe(403)
    expect(await byHost.text()).toContain('not from this site (https://pay.example)')
    // …the configured one is.
    const byBase = await send(admin, '/admin/settings/keys', {
      ...json,
      origin: 'https://pay.example',
    })
    expect(byBase.status).toBe(200)
    expect(await keyCount(merchantId)).toBe(2)
  })
})
