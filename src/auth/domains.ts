/**
 * The hourly re-check of verified display domains (its own cron, DOMAINS_CRON).
 *
 * A merchant proves a domain once, from Settings (admin/settings.tsx). Domains lapse and change
 * hands, so a verified domain's TXT record is looked at again about once a day
 * (DOMAIN_RECHECK_MS). A definite answer without the record (NXDOMAIN, or no such TXT value)
 * starts an absence; if the record is still missing on a look DOMAIN_GRACE_MS or more after the
 * absence began, the domain is no longer verified and checkout pages stop showing it (within the
 * code cache's 5 s). Finding the record again before then ends the absence. A resolver that gives
 * no answer changes nothing: a DNS outage never unverifies anyone.
 *
 * A run looks at most DOMAINS_PER_RUN domains, those looked at longest ago first, so it stays
 * within one invocation's free-plan limits (50 subrequests, 50 D1 queries: one read, and one
 * update per domain in one batch). Hourly, that is 480 domains a day: beyond that many verified
 * domains, each is looked at less often than daily, in turn.
 */
import { and, asc, isNotNull, lte, sql } from 'drizzle-orm'
import { createDb } from '../db/client'
import { merchants } from '../db/schema'
import type { Bindings } from '../env'
import { provesDomain } from '../lib/dns'
import { markDomainChecked, markDomainMissing, markDomainVerified } from './queries'

export const DOMAIN_RECHECK_MS = 24 * 3600 * 1000
/** How long a verified domain's record may be missing before the domain is unverified. */
export const DOMAIN_GRACE_MS = 3 * 24 * 3600 * 1000
export const DOMAINS_PER_RUN = 20

export interface DomainsRechecked {
  checked: number
  found: number
  /** Missing, absence noted (or going on) but still within the grace. */
  missing: number
  /** Missing past the grace: no longer verified. */
  unverified: number
  /** The resolver gave no answer: asked again on a later run. */
  unanswered: number
}

export async function recheckDomains(env: Bindings, now = Date.now()): Promise<DomainsRechecked> {
  const db = createDb(env.DB)
  const lastLook = sql<number>`coalesce(${merchants.domainCheckedAt}, ${merchants.domainVerifiedAt})`
  const due = await db
    .select({
      id: merchants.id,
      domain: merchants.displayDomain,
      token: merchants.domainToken,
      missingSince: merchants.domainMissingSince,
    })
    .from(merchants)
    .where(
      and(
        isNotNull(merchants.domainVerifiedAt),
        isNotNull(merchants.displayDomain),
        isNotNull(merchants.domainToken),
        lte(lastLook, now - DOMAIN_RECHECK_MS),
      ),
    )
    .orderBy(asc(lastLook))
    .limit(DOMAINS_PER_RUN)
  const result: DomainsRechecked = {
    checked: due.length,
    found: 0,
    missing: 0,
    unverified: 0,
    unanswered: 0,
  }
  const resolver = env.DNS_RESOLVER_URL || undefined
  const looks = await Promise.all(
    due.map(async (row) => {
      const proof = { domain: row.domain as string, token: row.token as string }
      try {
        return { row, proof, found: await provesDomain(proof.domain, proof.token, resolver) }
      } catch (err) {
        console.warn('display domain not re-checked: DNS gave no answer', proof.domain, err)
        return { row, proof, found: undefined }
      }
    }),
  )
  const updates = looks.map(({ row, proof, found }) => {
    if (found === undefined) {
      result.unanswered++
      return markDomainChecked(db, row.id, now)
    }
    if (found) {
      result.found++
      return markDomainVerified(db, row.id, proof, now)
    }
    if (row.missingSince !== null && row.missingSince <= now - DOMAIN_GRACE_MS) {
      result.unverified++
      console.warn(
        `display domain ${proof.domain} of merchant ${row.id} is no longer verified: its TXT record has been missing since ${new Date(row.missingSince).toISOString()}`,
      )
    } else {
      result.missing++
    }
    return markDomainMissing(db, row.id, proof, now, DOMAIN_GRACE_MS)
  })
  const [first, ...rest] = updates
  if (first) await db.batch([first, ...rest])
  return result
}
