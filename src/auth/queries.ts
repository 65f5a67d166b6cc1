import { and, desc, eq, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { apiKeys, merchants } from '../db/schema'
import { after as afterCursor, type Cursor } from '../lib/cursor'
import { newId } from '../lib/ids'
import { generateApiKey, newDomainToken } from './keys'

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
    })
    .where(eq(merchants.id, merchantId))
}

/** Marks `domain` verified, if it is still the merchant's display domain with that token. */
export async function markDomainVerified(
  db: Db,
  merchantId: string,
  proof: { domain: string; token: string },
  at: number,
) {
  await db
    .update(merchants)
    .set({ domainVerifiedAt: at })
    .where(
      and(
        eq(merchants.id, merchantId),
        eq(merchants.displayDomain, proof.domain),
        eq(merchants.domainToken, proof.token),
      ),
    )
}

/** Creates a key for a merchant; the returned `key` is the only time the secret exists in clear. */
export async function createApiKey(db: Db, merchantId: string, name: string) {
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
  })
  return { id, name, key: material.key, last4: material.last4, createdAt }
}

/** The live key with this hash, if any. Lookup by hash: the secret itself is never compared. */
export async function findActiveKeyByHash(db: Db, hash: string) {
  const [row] = await db
    .select({ id: apiKeys.id, merchantId: apiKeys.merchantId, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .limit(1)
  return row
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
