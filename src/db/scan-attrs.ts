/**
 * The order of a scan's attributes in the D1 `scans.attrs` JSON array. A hub flush writes each
 * scan's attributes as one array, and SQLite reads a column out of it only when a query asks for it
 * (virtual generated columns, src/db/schema.ts). With 12 more stored columns, inserting a 500-scan
 * flush cost local D1 ~3.8 ms of CPU, mostly reading each value out of the flush's JSON; with
 * `attrs`, ~1.7 ms. Append only: rows already written keep their positions.
 *
 * Its own module, without drizzle, because the hubs (in the Worker's entry) use it too.
 */
export const SCAN_ATTRS = [
  'method',
  'is_bot',
  'device',
  'browser',
  'os',
  'country',
  'region',
  'city',
  'colo',
  'referrer_host',
  'visitor_hash',
  'checkout_view',
] as const
