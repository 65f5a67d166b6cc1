/** Column helpers every table uses. */
import { sql } from 'drizzle-orm'
import { integer } from 'drizzle-orm/sqlite-core'

/** Milliseconds since the epoch; every timestamp column uses it. */
export const timestamp = (name: string) => integer(name, { mode: 'number' })
export const now = sql`(cast(unixepoch('subsecond') * 1000 as integer))`
