/**
 * The hourly re-check of verified display domains (its own cron, DOMAINS_CRON).
 *
 * A merchant proves a domain once, from Settings (admin/settings.tsx). Domains lapse and change
 * hands, so a verified domain's TXT record is looked at again about once a day
 * (DOMAIN_RECHECK_MS). A definite answer without the record (NXDOMAIN, or no such TXT value)
 * starts an absence; if the record is still missing on a look DOMAIN_GRACE_MS or more after the
 * absence began, the domain is no longer verified and checkout pages stop showing it (within the
 * code cache's 5 s). Finding the record again before then ends the absence. SERVFAIL for the
 * name counts as missing (a lapsed zone, a stale DNSSEC record); a resolver that gives no answer
 * (down, an error page, REFUSED) changes nothing: a resolver outage never unverifies anyone.
 *
 * A run looks at most DOMAINS_PER_RUN domains, those looked at longest ago first, so it stays
 * within one invocation's free-plan limits (50 subrequests, 50 D1 queries: one read, and one
 * update per domain in one batch), 6 lookups at a time. Hourly, that is 480 domains a day: beyond
 * that many verified domains, each is looked at less often than daily, in turn.
 */
import { and, asc, isNotNull, lte, sql } from 'drizzle-orm'
import { createDb } from '../db/client'
import { merchants } from '../db/schema'
import type { Bindings } from '../env'
import { DnsFailure, provesDomain } from '../lib/dns'
import { log } from '../lib/log'
import {
  type DomainProof,
  markDomainChecked,
  markDomainMissing,
  markDomainVerified,
} from './queries'

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
  /** The merchant changed the domain during the run: nothing written. */
  changed: number
}

/** Lookups in flight at once (a Worker's open-connection limit). */
const LOOKUPS_AT_ONCE = 6

interface Look {
  id: string
  proof: DomainProof
  /** Undefined: the resolver gave no answer. */
  found: boolean | undefined
}

/**
 * Whether the domain's record is there. SERVFAIL for the name is as good as a missing record: a
 * lapsed zone or a stale DNSSEC record after a change of hands look like that, and the grace
 * covers a passing failure. Anything else that keeps the resolver from answering is no answer.
 */
async function look(
  row: { id: string; domain: string | null; token: string | null },
  resolver: string | undefined,
): Promise<Look> {
  const proof = { domain: row.domain as string, token: row.token as string }
  try {
    return { id: row.id, proof, found: await provesDomain(proof.domain, proof.token, resolver) }
  } catch (err) {
    if (err instanceof DnsFailure) return { id: row.id, proof, found: false }
    log.warn(
      'display domain not re-checked: DNS gave no answer',
      { merchantId: row.id, domain: proof.domain },
      err,
    )
    return { id: row.id, proof, found: undefined }
  }
}

export async function recheckDomains(env: Bindings, now = Date.now()): Promise<DomainsRechecked> {
  const db = createDb(env.DB)
  const lastLook = sql<number>`coalesce(${merchants.domainCheckedAt}, ${merchants.domainVerifiedAt})`
  const due = await db
    .select({
      id: merchants.id,
      domain: merchants.displayDomain,
      token: merchants.domainToken,
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
    changed: 0,
  }
  const resolver = env.DNS_RESOLVER_URL || undefined
  const looks: Look[] = []
  // A Worker keeps 6 connections open at once: more lookups would wait for one inside their timeout.
  for (let i = 0; i < due.length; i += LOOKUPS_AT_ONCE) {
    const chunk = due.slice(i, i + LOOKUPS_AT_ONCE)
    looks.push(...(await Promise.all(chunk.map((row) => look(row, resolver)))))
  }
  const updates = looks.map(({ id, proof, found }) =>
    found === undefined
      ? markDomainChecked(db, id, proof, now)
      : found
        ? markDomainVerified(db, id, proof, now)
        : markDomainMissing(db, id, proof, now, DOMAIN_GRACE_MS),
  )
  const [first, ...rest] = updates
  const written = first ? await db.batch([first, ...rest]) : []
  // Counted from what was written: a merchant may have changed the domain meanwhile (nothing
  // written), or proved it again from Settings.
  written.forEach((rows, i) => {
    const { proof, id, found } = looks[i] as Look
    const [row] = rows
    if (!row) result.changed++
    else if (found === undefined) result.unanswered++
    else if (found) result.found++
    else if (row.verifiedAt !== null) result.missing++
    else {
      result.unverified++
      log.warn('display domain no longer verified', {
        merchantId: id,
        domain: proof.domain,
        txtRecordMissingDays: DOMAIN_GRACE_MS / 86_400_000,
      })
    }
  })
  log.info('display domains re-checked', { ...result })
  return result
}
