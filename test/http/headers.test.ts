/**
 * The security headers every kind of answer carries, whichever app (scan path or full) answers:
 * never framed, and X-Frame-Options never says otherwise than the CSP's `frame-ancestors`.
 */
import { describe, expect, it } from 'vitest'
import { AdminClient } from '../admin/client'
import { call, merchantWithCode } from '../helpers'

describe('framing headers', () => {
  it("say DENY everywhere, as the CSP's frame-ancestors 'none' does", async () => {
    const { key, code } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    const answers: [string, Response][] = [
      ['a checkout page (scan path)', await call(`/${code.slug}`)],
      ['an unknown slug (scan path)', await call('/no-such-code')],
      ['a page of the full app', await call('/r/rcpt_nope')],
      ['the API', await call('/api/v1/codes', { key })],
      ['the OpenAPI document', await call('/openapi.json')],
      ['the API reference', await call('/docs')],
      ['a QR image', await call(`/qr/${code.slug}.svg`)],
      ['the sign-in page', await call('/admin/login')],
      ['an admin page', await admin.get('/admin')],
    ]
    for (const [what, response] of answers) {
      expect(response.status, what).toBeLessThan(500)
      expect(response.headers.get('x-frame-options'), what).toBe('DENY')
      const csp = response.headers.get('content-security-policy') ?? ''
      // A policy that speaks of framing forbids it; one that does not leaves it to DENY.
      if (csp.includes('frame-ancestors')) expect(csp, what).toContain("frame-ancestors 'none'")
    }
  }, 20_000)
})
