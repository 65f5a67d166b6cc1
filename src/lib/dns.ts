/**
 * A merchant's display domain is shown on checkout pages only once the merchant proved control of
 * it: a TXT record `_qrcheckout.<domain>` holding `qrcheckout-verify=<token>`, read through a
 * DNS-over-HTTPS resolver's JSON API (Cloudflare's by default; `DNS_RESOLVER_URL` points
 * elsewhere, as the tests do at a fake).
 */
import { z } from '@hono/zod-openapi'

export const DEFAULT_RESOLVER = 'https://cloudflare-dns.com/dns-query'
const LOOKUP_TIMEOUT_MS = 5_000
const TXT = 16
const SERVFAIL = 2

/** The record a merchant adds for `domain`, and the value it must hold. */
export function domainRecord(domain: string, token: string) {
  return { name: `_qrcheckout.${domain}`, value: `qrcheckout-verify=${token}` }
}

/** RFC 8427-style JSON, as Cloudflare's and Google's resolvers answer it. */
const DohAnswer = z.object({
  Status: z.number(),
  Answer: z.array(z.object({ type: z.number(), data: z.string() })).optional(),
})

/**
 * The resolver answered SERVFAIL for the name: the name's own DNS fails (its servers do not
 * answer, a deleted zone, DNSSEC that does not validate), so no record can be read there. Other
 * failures (FORMERR, NOTIMP, REFUSED) are the resolver declining us, not an answer about the name.
 */
export class DnsFailure extends Error {}

/**
 * The TXT strings at `name` (each record's character-strings joined, as DNS splits long values).
 * Empty when the name has none (NXDOMAIN included); throws `DnsFailure` when the name's DNS
 * fails, and any other error when the resolver itself cannot say.
 */
export async function txtRecords(name: string, resolver = DEFAULT_RESOLVER): Promise<string[]> {
  const url = new URL(resolver)
  url.searchParams.set('name', name)
  url.searchParams.set('type', 'TXT')
  // Aborted, not only given up on: a lookup past its time frees its connection for the next.
  const response = await fetch(url, {
    headers: { accept: 'application/dns-json' },
    signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
  })
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`the DNS resolver answered ${response.status}`)
  }
  const parsed = DohAnswer.safeParse(await response.json().catch(() => null))
  if (!parsed.success) throw new Error('the DNS resolver answered something unreadable')
  const { Status, Answer = [] } = parsed.data
  // 0 NOERROR, 3 NXDOMAIN: an answer; 2 SERVFAIL: the name's DNS fails. Anything else is not an
  // answer about the name.
  if (Status === SERVFAIL) throw new DnsFailure(`DNS for ${name} fails (SERVFAIL)`)
  if (Status !== 0 && Status !== 3) throw new Error(`the DNS resolver declined (status ${Status})`)
  return Answer.filter((a) => a.type === TXT).map((a) => joinCharacterStrings(a.data))
}

/** `"abc" "def"` → `abcdef`; an unquoted value is taken as it is. */
function joinCharacterStrings(data: string): string {
  const parts = [...data.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    (m[1] ?? '').replace(/\\(.)/g, '$1'),
  )
  return parts.length ? parts.join('') : data
}

/** Whether `domain` carries the TXT record that `token` asks for. */
export async function provesDomain(domain: string, token: string, resolver?: string) {
  const { name, value } = domainRecord(domain, token)
  return (await txtRecords(name, resolver)).includes(value)
}
