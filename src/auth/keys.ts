/**
 * API key material. Pure Web Crypto, so the Worker and the command-line scripts share it.
 * A key is `qrk_` + 32 base62 characters (~190 random bits); only its SHA-256 is stored.
 */
import { customAlphabet } from 'nanoid'

export const API_KEY_PREFIX = 'qrk_'
const secretPart = customAlphabet(
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  32,
)
const KEY_SHAPE = /^qrk_[0-9A-Za-z]{32}$/

export interface NewApiKey {
  /** Shown to the merchant once, never stored. */
  key: string
  hash: string
  last4: string
}

export async function generateApiKey(): Promise<NewApiKey> {
  const key = API_KEY_PREFIX + secretPart()
  return { key, hash: await hashApiKey(key), last4: key.slice(-4) }
}

export function looksLikeApiKey(candidate: string): boolean {
  return KEY_SHAPE.test(candidate)
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return toHex(digest)
}

/** A display domain's verification token (the TXT value's part, lib/dns.ts): 128 random bits, hex. */
export function newDomainToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)))
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

/** Lower-case hex of the first `bytes` bytes (all by default). On the scan path: kept cheap. */
export function toHex(data: ArrayBuffer | Uint8Array, bytes = data.byteLength): string {
  const all = data instanceof Uint8Array ? data : new Uint8Array(data)
  const view = all.subarray(0, bytes)
  let out = ''
  for (const b of view) out += HEX[b]
  return out
}
