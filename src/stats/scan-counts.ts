/**
 * Human scans of many codes at once, for lists: read from the hourly rollups (a few rows per code,
 * not one per scan), so a count leaves out what the codes' hubs have not flushed yet.
 */
import { and, gte, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client'
import { readByIdGroups } from '../db/id-groups'
import { scanRollupHours } from '../db/schema'

/** Human scans in the hours from `since` (epoch ms) on, per code; codes with none are absent. */
export async function humanScansByCode(db: Db, codeIds: string[], since: number) {
  const rows = await readByIdGroups(codeIds, (ids) =>
    db
      .select({ codeId: scanRollupHours.codeId, n: sql<number>`sum(${scanRollupHours.human})` })
      .from(scanRollupHours)
      .where(and(inArray(scanRollupHours.codeId, ids), gte(scanRollupHours.hour, since)))
      .groupBy(scanRollupHours.codeId),
  )
  return new Map(rows.map((r) => [r.codeId, r.n]))
}
