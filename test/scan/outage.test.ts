import { describe, expect, it, vi } from 'vitest'
import { CODE_CACHE_TTL_MS } from '../../src/scan/resolve'
import { call, merchantWithCode, problemOf } from '../helpers'

/** A D1 binding that fails like an outage: every statement throws. */
const downD1 = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('D1_ERROR: simulated outage')
    },
  },
) as D1Database

describe('scans during a D1 outage', () => {
  it('keep redirecting from the last known entry once the cache bound has passed', async () => {
    const { code } = await merchantWithCode({
      action: 'redirect',
      destination_url: 'https://example.com/menu',
    })
    const start = Date.now()
    vi.useFakeTimers({ toFake: ['Date'], now: start })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      expect((await call(`/${code.slug}`)).status).toBe(302)
      vi.setSystemTime(start + CODE_CACHE_TTL_MS + 1000)
      const during = await call(`/${code.slug}`, { env: { DB: downD1 } })
      expect(during.status).toBe(302)
      expect(during.headers.get('location')).toBe('https://example.com/menu')
      expect(logged).toHaveBeenCalled()
    } finally {
      vi.useRealTimers()
      logged.mockRestore()
    }
  })

  it('answer a code never seen here with a 503 page, and the QR with a 503 problem, never a 500', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const page = await call('/neverseen1', { env: { DB: downD1 } })
      expect(page.status).toBe(503)
      expect(page.headers.get('content-type')).toContain('text/html')
      const qr = await call('/qr/neverseen2.svg', { env: { DB: downD1 } })
      expect(qr.status).toBe(503)
      expect((await problemOf(qr)).code).toBe('temporarily_unavailable')
    } finally {
      logged.mockRestore()
    }
  })
})
