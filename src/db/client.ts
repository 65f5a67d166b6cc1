import { type DrizzleD1Database, drizzle } from 'drizzle-orm/d1'
import * as schema from './schema'

/**
 * The database handle every query function takes. The command-line scripts hand the same
 * functions a sqlite-proxy over `wrangler d1 execute`, which has the same query surface.
 */
export type Db = DrizzleD1Database<typeof schema>

export function createDb(d1: D1Database): Db {
  return drizzle(d1, { schema })
}
