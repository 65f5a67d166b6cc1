/**
 * The visitor hash: HMAC(daily salt, ip + user agent). The salt is derived from a secret and the
 * UTC date, so hashes link a visitor's scans within one day and never across days, and the raw IP
 * is never stored anywhere.
 */
import { toHex } from '../auth/keys'

const encoder = new TextEncoder()
let memo: { day: string; key: CryptoKey } | undefined

async function hmacKey(raw: BufferSource): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

async function saltKeyFor(secret: string, day: string): Promise<CryptoKey> {
  if (memo?.day === day) return memo.key
  const root = await hmacKey(encoder.encode(secret))
  const salt = await crypto.subtle.sign('HMAC', root, encoder.encode(`visitor-salt:${day}`))
  const key = await hmacKey(salt)
  memo = { day, key }
  return key
}

export async function visitorHash(
  secret: string | undefined,
  at: number,
  ip: string | null,
  userAgent: string | null,
): Promise<string | null> {
  if (!secret || !ip) return null
  const day = new Date(at).toISOString().slice(0, 10)
  const key = await saltKeyFor(secret, day)
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${ip}\n${userAgent ?? ''}`))
  return toHex(mac).slice(0, 32)
}
