/**
 * The hub's own SQLite: its tables, the upgrade of an older hub's layout, and the few `meta`
 * values the other hub modules share (the hub's name, the open flush sequence, failed flushes).
 * Synchronous like everything over `ctx.storage.sql`, so CodeHub can make a decision out of
 * several of these calls inside one `transactionSync`.
 */

const SCHEMA = `
create table if not exists batches (
  id text primary key,
  seq integer not null,
  n integer not null,
  rows text not null,
  flushed_at integer
);
create index if not exists batches_unflushed on batches (seq) where flushed_at is null;
create index if not exists batches_flushed on batches (flushed_at) where flushed_at is not null;
create table if not exists funnel (
  payment_id text not null,
  kind text not null,
  at integer not null,
  seq integer not null,
  flushed_at integer,
  primary key (payment_id, kind)
);
create index if not exists funnel_unflushed on funnel (seq) where flushed_at is null;
create index if not exists funnel_flushed on funnel (flushed_at) where flushed_at is not null;
create table if not exists payments (
  id text primary key,
  state text not null,
  hold_until integer not null,
  reserved_at integer not null,
  settled_at integer
);
create index if not exists payments_state on payments (state, hold_until);
create table if not exists counters (name text primary key, value integer not null);
create table if not exists visitors (day text not null, hash text not null, primary key (day, hash)) without rowid;
create table if not exists meta (key text primary key, value);
`

/**
 * Hubs created before scans were stored a batch per row kept one row per scan in a `scans` table: their
 * unflushed scans become one batch per flush sequence, and the table goes. Every old scan id also
 * becomes a batch key without rows (flushed or not, like the scan), since those hubs recognised a
 * re-sent batch by any of its scans: a batch the Worker re-sends after the upgrade is known by its
 * first scan's id, and must still be ignored.
 */
const FROM_SCAN_ROWS = `
insert into batches (id, seq, n, rows, flushed_at)
select id, seq, 0, '[]', flushed_at from scans where true
on conflict (id) do nothing;
insert into batches (id, seq, n, rows, flushed_at)
select 'rows:' || seq, seq, count(*), json_group_array(json_object(
    'id', id, 'code_id', code_id, 'merchant_id', merchant_id, 'scanned_at', scanned_at,
    'method', method, 'is_bot', is_bot, 'device', device, 'browser', browser, 'os', os,
    'country', country, 'region', region, 'city', city, 'colo', colo,
    'referrer_host', referrer_host, 'visitor_hash', visitor_hash, 'checkout_view', checkout_view)),
  null
from scans where flushed_at is null group by seq;
drop table scans;
`

/**
 * Queries the hub runs on every batch or alarm, written to use the partial indexes: flushed
 * batches stay for DEDUPE_WINDOW_MS (on a busy code, ~100,000 rows), which a query must not scan.
 * Exported for the test that checks their plans.
 */
export const HUB_QUERIES = {
  scansInOpenSequence:
    'select coalesce(sum(n), 0) as n from batches where seq = ? and flushed_at is null',
  oldestFlushed: `select min(at) as at from (
      select min(flushed_at) as at from batches where flushed_at is not null
      union all select min(flushed_at) from funnel where flushed_at is not null)`,
} as const

/**
 * Makes storage ready at start: creates the tables, brings storage written by an older version of
 * the hub to the current layout, and remembers the hub's name (`name`, when it was addressed by one).
 */
export function openStorage(storage: DurableObjectStorage, name: string | undefined) {
  const sql = storage.sql
  sql.exec(SCHEMA)
  const legacy = sql
    .exec("select 1 from sqlite_master where type = 'table' and name = 'scans'")
    .toArray().length
  if (legacy) storage.transactionSync(() => sql.exec(FROM_SCAN_ROWS))
  if (name && getMeta(sql, 'name') !== name) setMeta(sql, 'name', name)
}

/**
 * The code a hub belongs to: the `{code}` part of its name (`{code}` or `{code}:{shard}`).
 * Read from storage when the object has no name: an alarm may start it without one.
 */
export function codeIdOf(ctx: DurableObjectState): string {
  const name = ctx.id.name ?? (getMeta(ctx.storage.sql, 'name') as string | null)
  if (!name) throw new Error('CodeHub must be addressed by name: idFromName(codeId)')
  return name.split(':')[0] as string
}

export function getMeta(sql: SqlStorage, key: string): unknown
export function getMeta(sql: SqlStorage, key: string, fallback: number): number
export function getMeta(sql: SqlStorage, key: string, fallback: unknown = null): unknown {
  const row = sql
    .exec<{ value: SqlStorageValue }>('select value from meta where key = ?', key)
    .toArray()[0]
  return row ? row.value : fallback
}

export function setMeta(sql: SqlStorage, key: string, value: SqlStorageValue) {
  sql.exec(
    'insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value',
    key,
    value,
  )
}

/** The flush sequence new scans and funnel events join. */
export function openSequence(sql: SqlStorage): number {
  return getMeta(sql, 'open_seq', 1)
}

export function setOpenSequence(sql: SqlStorage, seq: number) {
  setMeta(sql, 'open_seq', seq)
}
