import { drizzle } from 'drizzle-orm/d1'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import * as schema from './schema'

/**
 * Query functions take any async SQLite drizzle database with our schema: D1 in the Worker, the
 * sqlite-proxy that the command-line scripts point at `wrangler d1 execute`.
 */
// biome-ignore lint/suspicious/noExplicitAny: the result type differs per driver and is never read.
export type Db = BaseSQLiteDatabase<'async', any, typeof schema>

export function createDb(d1: D1Database): Db {
  return drizzle(d1, { schema })
}
