/**
 * The pay form and the test-mode checkout carry no session, but take the admin's one CSRF check
 * (src/lib/csrf.ts): whatever the content type, an unsafe request from another site is refused
 * before anything is read or stored.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, merchantWithCode } from '../helpers'
import { pay } from './support'

async function paymentRows(codeId: string) {
  const { results } = await env.DB.prepare('select status from payments where code_id = ?')
    .bind(codeId)
    .all<{ status: string }>()
  return results
}

const FROM_ELSEWHERE: Record<string, string>[] = [
  { 'content-type': 'application/json', origin: 'https://evil.example' },
  { 'content-type': 'application/x-foo', 'sec-fetch-site': 'cross-site' },
  { 'content-type': 'application/json' },
]

describe('CSRF on the customer forms, whatever the content type', () => {
  it('refuses the pay form from another site, storing no payment', async () => {
    const { code } = await merchantWithCode()
    for (const headers of FROM_ELSEWHERE) {
      const response = await call(`/${code.slug}/pay`, { method: 'POST', body: '{}', headers })
      expect(response.status, JSON.stringify(headers)).toBe(403)
    }
    expect(await paymentRows(code.id)).toEqual([])
  })

  it('refuses the test-mode outcome from another site, leaving the payment pending', async () => {
    const { code } = await merchantWithCode()
    const pressed = await pay(code.slug)
    expect(pressed.status).toBe(303)
    const checkout = new URL(pressed.headers.get('location') ?? '').pathname
    for (const headers of FROM_ELSEWHERE) {
      const response = await call(checkout, {
        method: 'POST',
        body: '{"outcome":"paid"}',
        headers,
      })
      expect(response.status, JSON.stringify(headers)).toBe(403)
    }
    expect(await paymentRows(code.id)).toEqual([{ status: 'pending' }])
  })
})
