/**
 * The visitor hash: HMAC-SHA256(daily salt, ip + user agent). The salt is derived from a secret and
 * the UTC date, so hashes link a visitor's scans within one day and never across days, and the
 * raw IP is never stored anywhere.
 *
 * Computed with @noble/hashes rather than WebCrypto: it runs for every scan, and a synchronous
 * HMAC from a keyed state prepared once a day costs a fraction of an async `crypto.subtle.sign`
 * call in workerd (the same bytes either way).
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../auth/keys'

const encoder = new TextEncoder()
let memo: { secret: string; day: string; keyed: ReturnType<typeof hmac.create> } | undefined

function keyedFor(secret: string, day: string) {
  if (memo?.day === day && memo.secret === secret) return memo.keyed
  const salt = hmac(sha256, encoder.encode(secret), encoder.encode(`visitor-salt:${day}`))
  memo = { secret, day, keyed: hmac.create(sha256, salt) }
  return memo.keyed
}

export function visitorHash(
  secret: string | undefined,
  at: number,
  ip: string | null,
  userAgent: string | null,
): string | null {
  if (!secret || !ip) return null
  const day = new Date(at).toISOString().slice(0, 10)
  const mac = keyedFor(secret, day)
    .clone()
    .update(encoder.encode(`${ip}\n${userAgent ?? ''}`))
    .digest()
  return toHex(mac, 16)
}
