/**
 * Hosts that are not on the public internet: loopback, private networks, link-local, unique-local,
 * cloud metadata services, `localhost` and private-use names. A printed code must never send phones
 * (or, later, our own webhook deliveries) there. Takes a WHATWG URL's `hostname`: the parser has
 * already turned every IPv4 notation (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) into a
 * dotted quad and every IPv6 one into its compressed hex form, so only those two are read here.
 */
import { inIPv4Range, parseIPv4, parseIPv6 } from './ip'

const LOOPBACK = 'a loopback address'
const PRIVATE = 'a private-network address'
const LINK_LOCAL = 'a link-local address'
const METADATA = 'a cloud metadata address'
const UNSPECIFIED = 'an unspecified address'
const RESERVED = 'a reserved or multicast address'

const v4 = (text: string) => parseIPv4(text) ?? 0

/** Special-purpose IPv4 ranges (RFC 6890), the most specific first. */
const IPV4_RANGES: [base: number, bits: number, rule: string][] = [
  [v4('169.254.169.254'), 32, METADATA],
  [v4('0.0.0.0'), 8, UNSPECIFIED],
  [v4('127.0.0.0'), 8, LOOPBACK],
  [v4('10.0.0.0'), 8, PRIVATE],
  [v4('172.16.0.0'), 12, PRIVATE],
  [v4('192.168.0.0'), 16, PRIVATE],
  [v4('100.64.0.0'), 10, 'a shared (carrier-grade NAT) address'],
  [v4('169.254.0.0'), 16, LINK_LOCAL],
  [v4('192.0.0.0'), 24, RESERVED],
  [v4('198.18.0.0'), 15, RESERVED],
  [v4('224.0.0.0'), 4, RESERVED],
  [v4('240.0.0.0'), 4, RESERVED],
]

function ipv4Rule(address: number): string | undefined {
  for (const [base, bits, rule] of IPV4_RANGES) if (inIPv4Range(address, base, bits)) return rule
  return undefined
}

/** The IPv4 address an IPv6 one carries in its last 32 bits. */
const lastIPv4 = (g: number[]) => (g[6] ?? 0) * 0x10000 + (g[7] ?? 0)

function ipv6Rule(g: number[]): string | undefined {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, , h = 0] = g
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0)
  if (zeroTo(7) && h === 0) return UNSPECIFIED
  if (zeroTo(7) && h === 1) return LOOPBACK
  // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d),
  // 6to4 (2002:AABB:CCDD::): each reaches the IPv4 address it carries.
  if (zeroTo(5) && f === 0xffff) return ipv4Rule(lastIPv4(g))
  if (zeroTo(6)) return ipv4Rule(lastIPv4(g))
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0)
    return ipv4Rule(lastIPv4(g))
  if (a === 0x2002) return ipv4Rule(b * 0x10000 + c)
  if (a === 0xfd00 && b === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && h === 0x254)
    return METADATA
  if ((a & 0xfe00) === 0xfc00) return 'a unique-local address'
  if ((a & 0xffc0) === 0xfe80) return LINK_LOCAL
  if ((a & 0xffc0) === 0xfec0) return PRIVATE
  if ((a & 0xff00) === 0xff00) return RESERVED
  return undefined
}

/** Names that only ever resolve inside a machine or a local network. */
function nameRule(name: string): string | undefined {
  if (name === 'localhost' || name.endsWith('.localhost')) return 'localhost'
  if (name === 'metadata.google.internal') return METADATA
  if (name.endsWith('.internal')) return 'a private-use name (.internal)'
  if (name.endsWith('.local')) return 'a local-network name (.local)'
  if (name === 'home.arpa' || name.endsWith('.home.arpa')) return 'a private-use name (.home.arpa)'
  return undefined
}

/**
 * What makes `hostname` (a WHATWG URL's, so lower-case, IPv6 in brackets) internal, in words for
 * an error message ("a loopback address"); undefined for a public host.
 */
export function internalHostRule(hostname: string): string | undefined {
  const host = hostname.replace(/\.+$/, '')
  if (host.startsWith('[') && host.endsWith(']')) {
    const groups = parseIPv6(host.slice(1, -1))
    return groups ? ipv6Rule(groups) : undefined
  }
  const address = parseIPv4(host)
  return address === undefined ? nameRule(host) : ipv4Rule(address)
}
