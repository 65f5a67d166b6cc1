/** Identifiers: a type prefix and enough randomness that they can be handed out publicly. */
import { customAlphabet } from 'nanoid'

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const random22 = customAlphabet(base62, 22) // ~131 bits

export type IdPrefix = 'mer' | 'key' | 'code' | 'scan' | 'pay' | 'rcpt' | 'evt' | 'chg' | 'rfd'

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${random22()}`
}

let isolatePrefix: string | undefined
let sequence = 0

/**
 * Ids for high-volume records (scans), made without drawing randomness each time: 16 random
 * base62 characters per isolate (~95 bits), then a counter. Unique across isolates and within
 * one; they reveal only the order of records made in the same isolate.
 */
export function sequentialId(prefix: IdPrefix): string {
  isolatePrefix ??= customAlphabet(base62, 16)()
  sequence++
  return `${prefix}_${isolatePrefix}${sequence.toString(36)}`
}

/**
 * Random slugs are lower-case (slugs are case-insensitive) and skip look-alike characters, so a
 * slug read off a printed sticker can be typed. 8 of 31 symbols is ~40 bits: unguessable enough to
 * stop enumeration of codes, short enough to keep the QR symbol small.
 */
export const randomSlug = customAlphabet('23456789abcdefghjkmnpqrstuvwxyz', 8)
