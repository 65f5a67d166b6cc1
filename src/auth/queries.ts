import { and, desc, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { apiKeys, merchants, verifiedDomain } from '../db/schema'
import { after as afterCursor, type Cursor } from '../lib/cursor'
import { newId } from '../lib/ids'
import { generateApiKey, newDomainToken } from './keys'
import { decodeGrant, encodeGrant, type Grant } from './scopes'

export async function createMerchant(
  db: Db,
  input: {
    name: string
    displayDomain?: string
    /** Seeds only (the local demo, tests, the bench): a made-up domain no DNS record can prove. */
    domainVerified?: boolean
  },
) {
  const id = newId('mer')
  const domainToken = input.displayDomain ? newDomainToken() : null
  const domainVerifiedAt = input.displayDomain && input.domainVerified ? Date.now() : null
  await db.insert(merchants).values({
    id,
    name: input.name,
    displayDomain: input.displayDomain,
    domainToken,
    domainVerifiedAt,
  })
  return id
}

/** A merchant's profile (name, display domain and its verification state); undefined if unknown. */
export async function getMerchant(db: Db, merchantId: string) {
  const [row] = await db.select().from(merchants).where(eq(merchants.id, merchantId))
  return row
}

/**
 * Sets the name and display domain customers see. A different domain gets a new token and is
 * unverified until its TXT record is found (see lib/dns.ts); the same domain keeps its state.
 */
export async function updateMerchantProfile(
  db: Db,
  merchantId: string,
  profile: { name: string; displayDomain: string | null },
) {
  const domain = profile.displayDomain
  // The same domain with its token: kept as it is. Anything else (a domain saved before tokens
  // existed included) starts over.
  const same = sql`${merchants.displayDomain} is ${domain} and ${merchants.domainToken} is not null`
  await db
    .update(merchants)
    .set({
      name: profile.name,
      displayDomain: domain,
      domainToken: sql`case when ${same} then ${merchants.domainToken} else ${domain ? newDomainToken() : null} end`,
      domainVerifiedAt: sql`case when ${same} then ${merchants.domainVerifiedAt} end`,
      domainCheckedAt: sql`case when ${same} then ${merchants.domainCheckedAt} end`,
      domainMissingSince: sql`case when ${same} then ${merchants.domainMissingSince} end`,
    })
    .where(eq(merchants.id, merchantId))
}

/**
 * The domain customers would see verified after saving `domain` as the display domain: the same
 * one, already verified, stays so (updateMerchantProfile keeps its state); any other starts over.
 */
export async function verifiedAfterSave(db: Db, merchantId: string, domain: string | null) {
  if (!domain) return null
  const [row] = await db
    .select({ domain: verifiedDomain, token: merchants.domainToken })
    .from(merchants)
    .where(eq(merchants.id, merchantId))
  return row?.domain === domain && row.token !== null ? domain : null
}

/** A domain and the token its TXT record must carry, as read before looking the record up. */
export interface DomainProof {
  domain: string
  token: string
}

/** Only while the merchant still has this domain with this token: a change meanwhile wins. */
const stillHas = (merchantId: string, proof: DomainProof) =>
  and(
    eq(merchants.id, merchantId),
    eq(merchants.displayDomain, proof.domain),
    eq(merchants.domainToken, proof.token),
  )

/** What a look at a domain left: whether it is (still) verified, and since when it is missing. */
const domainState = {
  verifiedAt: merchants.domainVerifiedAt,
  missingSince: merchants.domainMissingSince,
}

/**
 * The TXT record was found at `at`: the domain is verified (since the first time), and any
 * absence the daily re-check had noted is over.
 */
export function markDomainVerified(db: Db, merchantId: string, proof: DomainProof, at: number) {
  return db
    .update(merchants)
    .set({
      domainVerifiedAt: sql`coalesce(${merchants.domainVerifiedAt}, ${at})`,
      domainCheckedAt: at,
      domainMissingSince: null,
    })
    .where(stillHas(merchantId, proof))
    .returning(domainState)
}

/**
 * The daily re-check found no TXT record for a verified domain at `at`: its absence starts, or,
 * once it began `graceMs` ago or more, the domain is no longer verified (checkout pages stop
 * showing it; the merchant proves it again from Settings). Returns the update, for a batch.
 */
export function markDomainMissing(
  db: Db,
  merchantId: string,
  proof: DomainProof,
  at: number,
  graceMs: number,
) {
  const lapsed = sql`${merchants.domainMissingSince} <= ${at - graceMs}`
  return db
    .update(merchants)
    .set({
      domainVerifiedAt: sql`case when ${lapsed} then null else ${merchants.domainVerifiedAt} end`,
      domainMissingSince: sql`case when ${lapsed} then null else coalesce(${merchants.domainMissingSince}, ${at}) end`,
      domainCheckedAt: at,
    })
    .where(and(stillHas(merchantId, proof), isNotNull(merchants.domainVerifiedAt)))
    .returning(domainState)
}

/** The resolver gave no answer at `at`: only the time of the look moves. */
export function markDomainChecked(db: Db, merchantId: string, proof: DomainProof, at: number) {
  return db
    .update(merchants)
    .set({ domainCheckedAt: at })
    .where(stillHas(merchantId, proof))
    .returning(domainState)
}

/**
 * Creates a key for a merchant; the returned `key` is the only time the secret exists in clear.
 * `scopes` limits what it may do; without it the key has full access.
 */
export async function createApiKey(db: Db, merchantId: string, name: string, scopes: Grant = null) {
  const material = await generateApiKey()
  const id = newId('key')
  const createdAt = Date.now()
  await db.insert(apiKeys).values({
    id,
    merchantId,
    name,
    hash: material.hash,
    last4: material.last4,
    createdAt,
    scopes: encodeGrant(scopes),
  })
  return { id, name, key: material.key, last4: material.last4, createdAt, scopes }
}

/** The live key with this hash, if any. Lookup by hash: the secret itself is never compared. */
export async function findActiveKeyByHash(db: Db, hash: string) {
  const [row] = await db
    .select({
      id: apiKeys.id,
      merchantId: apiKeys.merchantId,
      lastUsedAt: apiKeys.lastUsedAt,
      scopes: apiKeys.scopes,
    })
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .limit(1)
  return row && { ...row, scopes: decodeGrant(row.scopes) }
}

export async function touchApiKey(db: Db, id: string, at: number) {
  await db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id))
}

/** What a key shows of itself (never its hash). */
const keyView = {
  id: apiKeys.id,
  name: apiKeys.name,
  last4: apiKeys.last4,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
  scopes: apiKeys.scopes,
}

/** A merchant's keys, newest first: `limit + 1` rows after the cursor (see `paginate`). */
export async function listApiKeys(
  db: Db,
  merchantId: string,
  page: { limit: number; after?: Cursor },
) {
  return db
    .select(keyView)
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.merchantId, merchantId),
        afterCursor(apiKeys.createdAt, apiKeys.id, page.after),
      ),
    )
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit + 1)
}

/** Revokes a merchant's key; returns undefined when the merchant has no such key. Idempotent. */
export async function revokeApiKey(db: Db, merchantId: string, id: string, at: number) {
  const own = and(eq(apiKeys.id, id), eq(apiKeys.merchantId, merchantId))
  await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(own, isNull(apiKeys.revokedAt)))
  const [key] = await db.select(keyView).from(apiKeys).where(own)
  return key
}

/** Whether a key exists and is not revoked (live tokens stop working when their key is revoked). */
export async function isApiKeyActive(db: Db, id: string): Promise<boolean> {
  const [row] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .limit(1)
  return row !== undefined
}
