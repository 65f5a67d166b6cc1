/**
 * The visitor hash: HMAC-SHA256(daily salt, ip + user agent). The salt is derived from a secret and
 * the UTC date, so hashes link a visitor's scans within one day and never across days, and the
 * raw IP is never stored anywhere.
 *
 * Computed for a batch of scans at once, as the batch is sent (batcher.ts), with
 * @noble/hashes rather than WebCrypto: it runs for every scan, and a synchronous
 * HMAC from a keyed state prepared once a day costs a fraction of an async `crypto.subtle.sign`
 * call in workerd (the same bytes either way).
 */
import { _HMAC, hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../auth/keys'

const encoder = new TextEncoder()
type Keyed = _HMAC<ReturnType<typeof sha256.create>>
let memo: { secret: string; day: string; keyed: Keyed } | undefined

/** Reused on every call (one call at a time: this is synchronous), so a hash allocates nothing. */
let work: Keyed | undefined
const input = new Uint8Array(8192)
const mac = new Uint8Array(32)

function keyedFor(secret: string, day: string): Keyed {
  if (memo?.day === day && memo.secret === secret) return memo.keyed
  const salt = hmac(sha256, encoder.encode(secret), encoder.encode(`visitor-salt:${day}`))
  memo = { secret, day, keyed: new _HMAC(sha256, salt) }
  return memo.keyed
}

/** What a visitor hash is made of (held with a queued scan until its batch is sent). */
export interface VisitorInput {
  secret: string | undefined
  ip: string | null
  userAgent: string | null
}

export function visitorHash(
  secret: string | undefined,
  at: number,
  ip: string | null,
  userAgent: string | null,
): string | null {
  if (!secret || !ip) return null
  const day = new Date(at).toISOString().slice(0, 10)
  const text = `${ip}\n${userAgent ?? ''}`
  const { read, written } = encoder.encodeInto(text, input)
  const next = keyedFor(secret, day)._cloneInto(work)
  work = next
  next.update(read === text.length ? input.subarray(0, written) : encoder.encode(text))
  next.digestInto(mac)
  return toHex(mac, 16)
}
