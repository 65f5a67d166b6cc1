import { describe, expect, it } from 'vitest'
import { visitorHash } from '../../src/scan/visitor'

const SECRET = 'visitor-test-secret'
const encoder = new TextEncoder()

/** The definition, spelled with WebCrypto: HMAC(HMAC(secret, "visitor-salt:" + day), ip \n ua). */
async function reference(day: string, ip: string, ua: string) {
  const key = (raw: BufferSource) =>
    crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const salt = await crypto.subtle.sign(
    'HMAC',
    await key(encoder.encode(SECRET)),
    encoder.encode(`visitor-salt:${day}`),
  )
  const mac = await crypto.subtle.sign('HMAC', await key(salt), encoder.encode(`${ip}\n${ua}`))
  return [...new Uint8Array(mac).slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

describe('the visitor hash', () => {
  it('is the keyed hash of ip and user agent under the day’s salt, 32 hex characters', async () => {
    const at = Date.UTC(2026, 10, 24, 13, 5)
    for (const [ip, ua] of [
      ['203.0.113.9', 'Mozilla/5.0 (iPhone)'],
      ['2001:db8::1', ''],
      ['198.51.100.7', 'ü'.repeat(300)],
    ] as const) {
      const hash = visitorHash(SECRET, at, ip, ua)
      expect(hash).toMatch(/^[0-9a-f]{32}$/)
      expect(hash).toBe(await reference('2026-11-24', ip, ua))
    }
  })

  it('links a visitor within a UTC day and never across days or secrets', () => {
    const morning = Date.UTC(2026, 10, 24, 0, 0, 1)
    const evening = Date.UTC(2026, 10, 24, 23, 59, 59)
    const next = Date.UTC(2026, 10, 25, 0, 0, 1)
    const h = (secret: string, at: number, ip = '203.0.113.9') => visitorHash(secret, at, ip, 'UA')
    expect(h(SECRET, morning)).toBe(h(SECRET, evening))
    expect(h(SECRET, next)).not.toBe(h(SECRET, evening))
    expect(h('another-secret', morning)).not.toBe(h(SECRET, morning))
    expect(h(SECRET, morning, '203.0.113.10')).not.toBe(h(SECRET, morning))
    // Back to the first day after another day was hashed: the same value again.
    expect(h(SECRET, evening)).toBe(h(SECRET, morning))
  })

  it('is absent without a secret or an IP', () => {
    expect(visitorHash(undefined, Date.now(), '203.0.113.9', 'UA')).toBeNull()
    expect(visitorHash(SECRET, Date.now(), null, 'UA')).toBeNull()
  })
})
