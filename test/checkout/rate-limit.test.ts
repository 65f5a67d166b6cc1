import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, merchantWithCode, problemOf } from '../helpers'
import { payForm } from './support'

describe('rate limits on what costs money or writes', () => {
  it('lets one customer press pay 10 times a minute on a code, then answers 429 creating nothing', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    const press = (ip: string) => payForm(code.slug, {}, { headers: { 'cf-connecting-ip': ip } })
    // The limit counts in fixed one-minute windows: if a window turns over mid-test, up to twice
    // the limit gets through, never more, and never fewer than the limit.
    let allowed = 0
    let limited = await press('198.51.100.1')
    while (limited.status === 303 && allowed < 25) {
      allowed++
      limited = await press('198.51.100.1')
    }
    expect(allowed).toBeGreaterThanOrEqual(10)
    expect(allowed).toBeLessThanOrEqual(20)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.text()).toContain('Nothing was charged')
    const count = await env.DB.prepare('select count(*) as n from payments where code_id = ?')
      .bind(code.id)
      .first<{ n: number }>()
    expect(count?.n).toBe(allowed)
    // Another customer is not affected.
    expect((await press('198.51.100.2')).status).toBe(303)
  })

  // About 300 writes in a row: seconds on a quiet machine, far more than 5 s on a busy one.
  it('limits API writes per merchant, across its keys, with a 429 problem, leaving reads and other merchants alone', async () => {
    const { key, code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    // A second key of the same merchant, made before the limit is reached (the first write).
    const made = await call('/api/v1/api-keys', { key, method: 'POST', json: { name: 'second' } })
    expect(made.status).toBe(201)
    const second = ((await made.json()) as { key: string }).key
    let status = 0
    let writes = 2 // the code's creation and the second key's
    while (writes < 700) {
      const response = await call(`/api/v1/codes/${code.id}`, {
        key,
        method: 'PATCH',
        json: { metadata: { n: String(writes) } },
      })
      status = response.status
      if (status === 429) {
        expect((await problemOf(response)).code).toBe('rate_limited')
        expect(response.headers.get('retry-after')).toBe('60')
        break
      }
      writes++
    }
    expect(status).toBe(429)
    // Fixed one-minute windows: at least the limit, at most twice it if a window turned over.
    expect(writes).toBeGreaterThanOrEqual(300)
    expect(writes).toBeLessThanOrEqual(600)
    expect((await call(`/api/v1/codes/${code.id}`, { key })).status).toBe(200)
    // Another key of the merchant shares the limit: more keys are not more writes.
    const again = await call(`/api/v1/codes/${code.id}`, {
      key: second,
      method: 'PATCH',
      json: { metadata: { n: 'second' } },
    })
    expect(again.status).toBe(429)
    // Another merchant is not affected.
    const other = await merchantWithCode({ action: 'redirect', destination_url: 'https://e.com' })
    const theirs = await call(`/api/v1/codes/${other.code.id}`, {
      key: other.key,
      method: 'PATCH',
      json: { metadata: { n: 'other' } },
    })
    expect(theirs.status).toBe(200)
  }, 60_000)
})
