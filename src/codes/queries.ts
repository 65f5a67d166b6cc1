import { type AnyColumn, and, desc, eq, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import {
  type Code,
  codeChanges,
  codes,
  merchants,
  type NewCode,
  scans,
  verifiedDomain,
} from '../db/schema'
import { after as afterCursor, type Cursor } from '../lib/cursor'

export async function insertCode(db: Db, code: NewCode) {
  await db.insert(codes).values(code)
}

/** A merchant's code; undefined for an unknown id or another merchant's code (tenant isolation). */
export async function getCode(db: Db, merchantId: string, id: string): Promise<Code | undefined> {
  const [row] = await db
    .select()
    .from(codes)
    .where(and(eq(codes.id, id), eq(codes.merchantId, merchantId)))
  return row
}

export async function listCodes(
  db: Db,
  merchantId: string,
  filter: {
    status?: Code['status']
    action?: Code['action']
    /** Words matched against slug, description, destination and reference. */
    search?: string
    limit: number
    after?: Cursor
  },
) {
  const { after } = filter
  // A plain substring, ASCII case-insensitive (as LIKE was): `instr` has no wildcards to escape
  // and no pattern length limit (D1 refuses LIKE patterns over 50 bytes).
  const needle = filter.search
  const contains = (column: AnyColumn) => sql`instr(lower(${column}), lower(${needle})) > 0`
  return db
    .select()
    .from(codes)
    .where(
      and(
        eq(codes.merchantId, merchantId),
        filter.status ? eq(codes.status, filter.status) : undefined,
        filter.action ? eq(codes.action, filter.action) : undefined,
        needle
          ? or(
              contains(codes.slug),
              contains(codes.description),
              contains(codes.destinationUrl),
              contains(codes.reference),
            )
          : undefined,
        afterCursor(codes.createdAt, codes.id, after),
      ),
    )
    .orderBy(desc(codes.createdAt), desc(codes.id))
    .limit(filter.limit + 1)
}

export type CodeChange = typeof codeChanges.$inferInsert

/**
 * Applies a change and bumps the version as a compare-and-set on the version, so two concurrent
 * edits cannot silently overwrite each other. The audit entries are inserted in the same batch
 * (one transaction) and only if the update applied (`changes() = 1` right after it).
 */
export async function updateCode(
  db: Db,
  code: Code,
  changes: Partial<Omit<Code, 'id' | 'merchantId' | 'slug' | 'version' | 'createdAt'>>,
  audit: CodeChange[],
): Promise<Code | undefined> {
  const update = db
    .update(codes)
    .set({ ...changes, version: sql`${codes.version} + 1`, updatedAt: Date.now() })
    .where(
      and(
        eq(codes.id, code.id),
        eq(codes.merchantId, code.merchantId),
        eq(codes.version, code.version),
      ),
    )
    .returning()
  if (!audit.length) return (await update)[0]
  const rows = sql.join(
    audit.map(
      (a) =>
        sql`select ${a.id}, ${a.codeId}, ${a.merchantId}, ${a.actor}, ${a.field}, ${a.oldValue ?? null}, ${a.newValue ?? null}, ${a.version}, ${a.changedAt}`,
    ),
    sql` union all `,
  )
  const [updated] = await db.batch([
    update,
    // Columns in table order: id, code_id, merchant_id, actor, field, old, new, version, changed_at.
    db.insert(codeChanges).select(sql`select * from (${rows}) where changes() = 1`),
  ])
  return updated[0]
}

/** A code's scans in D1 (flushed by its hub), newest first. */
export async function listScans(db: Db, codeId: string, page: { limit: number; after?: Cursor }) {
  return db
    .select()
    .from(scans)
    .where(and(eq(scans.codeId, codeId), afterCursor(scans.scannedAt, scans.id, page.after)))
    .orderBy(desc(scans.scannedAt), desc(scans.id))
    .limit(page.limit + 1)
}

/** A code's audit log, newest first: `limit + 1` rows after the cursor (see `paginate`). */
export async function listCodeChanges(
  db: Db,
  codeId: string,
  page: { limit: number; after?: Cursor },
) {
  return db
    .select()
    .from(codeChanges)
    .where(
      and(
        eq(codeChanges.codeId, codeId),
        afterCursor(codeChanges.changedAt, codeChanges.id, page.after),
      ),
    )
    .orderBy(desc(codeChanges.changedAt), desc(codeChanges.id))
    .limit(page.limit + 1)
}

/** What the scan path needs to answer, joined once. */
export async function findCodeBySlug(db: Db, slug: string) {
  const [row] = await db
    .select({
      id: codes.id,
      merchantId: codes.merchantId,
      slug: codes.slug,
      mode: codes.mode,
      action: codes.action,
      status: codes.status,
      destinationUrl: codes.destinationUrl,
      currency: codes.currency,
      amount: codes.amount,
      amountMin: codes.amountMin,
      amountMax: codes.amountMax,
      description: codes.description,
      expiresAt: codes.expiresAt,
      maxPayments: codes.maxPayments,
      paidCount: sql<number>`(select count(*) from payments where payments.code_id = ${codes.id} and payments.status in ('paid', 'partially_refunded', 'refunded') and payments.slot_reopened_at is null)`,
      version: codes.version,
      merchantName: merchants.name,
      merchantDomain: verifiedDomain,
      // Whether the merchant can be paid (money/payment-mode.ts): no Stripe call to know it.
      stripeAccountId: merchants.stripeAccountId,
      stripeChargesEnabled: merchants.stripeChargesEnabled,
    })
    .from(codes)
    .innerJoin(merchants, eq(merchants.id, codes.merchantId))
    .where(eq(codes.slug, slug))
  return row
}

export type ResolvedCode = NonNullable<Awaited<ReturnType<typeof findCodeBySlug>>>
