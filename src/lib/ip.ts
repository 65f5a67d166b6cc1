/**
 * IP address literals read as numbers, so ranges are compared rather than strings: IPv4 dotted
 * quads (the only form the WHATWG URL parser serialises) and IPv6 in any RFC 4291 text form.
 * Used by the destination rules (no internal addresses) and by the rate limits' client keys.
 */

/** A dotted quad (`127.0.0.1`) as a 32-bit unsigned number, or undefined when it is not one. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const byte = Number(part)
    if (byte > 255) return undefined
    value = value * 256 + byte
  }
  return value
}

/**
 * An IPv6 address, without brackets or zone, as its eight 16-bit groups; undefined when it is not
 * one. Takes `::` compression and an IPv4 tail (`::ffff:127.0.0.1`).
 */
export function parseIPv6(text: string): number[] | undefined {
  let rest = text
  const lastColon = rest.lastIndexOf(':')
  if (lastColon < 0) return undefined
  if (rest.includes('.', lastColon)) {
    const v4 = parseIPv4(rest.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    rest = `${rest.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`
  }
  const halves = rest.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (half: string) => (half === '' ? [] : half.split(':'))
  const head = groupsOf(halves[0] ?? '')
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined
  return groups.map((group) => Number.parseInt(group, 16))
}

/** Whether `address` lies in `base`/`bits` (both IPv4 as numbers). */
export function inIPv4Range(address: number, base: number, bits: number): boolean {
  if (bits === 0) return true
  const shift = 32 - bits
  return address >>> shift === base >>> shift
}
