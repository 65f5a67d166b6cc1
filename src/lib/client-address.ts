/**
 * Who a request comes from, as the rate limits (sign-in, pay) count it. One function so every
 * limit keys the same way and says honestly what the key is worth:
 *
 * - **Production**: the address Cloudflare's edge sets in `CF-Connecting-IP`. The edge overwrites
 *   whatever a client sent under that name, so here a client cannot choose its bucket. An IPv6
 *   client is counted by its /64 (one subscriber's network): the rest of those bits are the
 *   client's to pick, and would otherwise be 2^64 fresh buckets. Every request from the internet
 *   carries the header; one without it did not come through the edge (a service binding, say).
 *   It gets a key of its own (`unattributed:` + random), so it is not limited, but it can never
 *   fill a bucket it shares with anyone else.
 * - **Elsewhere** (`wrangler dev`, tests): nothing sets the header but the client (or miniflare,
 *   with the socket's address), so the key says so: `dev:` + the header. Without the header,
 *   `dev:anonymous:` + random, one bucket per request: never one bucket for every client.
 */
import type { Bindings } from '../env'
import { isProduction } from './environment'
import { parseIPv6 } from './ip'
import { log } from './log'

let warned = false

/** The rate-limit key of the client that sent `request`. */
export function clientKey(request: Request, env: Bindings): string {
  const header = request.headers.get('cf-connecting-ip')?.trim()
  if (!isProduction(env)) {
    return header ? `dev:${addressKey(header)}` : `dev:anonymous:${crypto.randomUUID()}`
  }
  if (header) return addressKey(header)
  if (!warned) {
    warned = true
    log.warn('a request without CF-Connecting-IP in production: not rate-limited by client')
  }
  return `unattributed:${crypto.randomUUID()}`
}

/** An IPv4 address as itself, an IPv6 one as its /64 (`2001:db8:0:1::/64`). */
function addressKey(address: string): string {
  const groups = address.includes(':') ? parseIPv6(address) : undefined
  if (!groups) return address.slice(0, 64)
  const prefix = groups.slice(0, 4).map((group) => group.toString(16))
  return `${prefix.join(':')}::/64`
}
