/**
 * `CodeHub`: the real-time side of one code, a SQLite-backed Durable Object named by the code id.
 *
 * - Scans arrive in batches (`recordScans`) and are stored in the hub's own SQLite before the call
 *   returns, so an acknowledged scan survives eviction. Exact counters are kept next to them.
 * - An alarm flushes stored scans to D1 (see flush.ts), oldest flush sequence first, and marks
 *   them flushed only after D1 committed; on failure it re-arms itself with backoff.
 * - Payment holds for limited codes (`reservePayment`, `settlePayment`) and the checkout funnel.
 * - The live feed: WebSockets accepted with the hibernation API, updates coalesced (feed.ts),
 *   each feed's API key or admin session confirmed in D1 once a minute (`confirmed`).
 *
 * Every RPC method does its storage work with the synchronous `ctx.storage.sql` and never awaits
 * in between, so concurrent calls cannot interleave inside a decision.
 */
import { DurableObject } from 'cloudflare:workers'
import { lazy } from '../lib/lazy'
import { withTimeout } from '../lib/timeout'
import { aggregate, type FunnelRow, type ScanRow, scanRow } from './aggregate'
import { LiveFeed } from './feed'
import { type FlushBatch, flushToD1, scanRowsJson } from './flush'
import { FLUSH_DELAY_MS, FLUSH_MAX_SCANS } from './limits'
import { type Pace, Pacer } from './pace'
import {
  type HubCounters,
  type HubScan,
  type LiveEvent,
  type LiveMessage,
  type PaymentOutcome,
  type PendingStats,
  type ReservePaymentInput,
  type ReservePaymentResult,
  SUBJECT_HEADER,
} from './types'

/** Live-feed sockets one hub accepts at once (each browser tab or SSE stream is one). */
export const MAX_WATCHERS = 200
/**
 * Sockets one hub holds at all, expired ones still closing included: a client that never answers
 * the close keeps its socket listed, and must not make room for more.
 */
export const MAX_SOCKETS = 2 * MAX_WATCHERS
/** A watcher's "counters" requests are answered this often at most. */
export const COUNTERS_EVERY_MS = 1_000
/**
 * A feed lasts this long. Then the hub closes it (FEED_EXPIRED) before sending it anything more,
 * and the client reconnects, its credentials checked again: a revoked key's feed, or a signed-out
 * admin's, gets nothing after it.
 */
export const FEED_MAX_MS = 30 * 60_000
export const FEED_EXPIRED = 4001
/**
 * Before a feed is sent anything more, or answered, the hub confirms in D1 that the API key or
 * admin session behind it is still live, once this long has passed since the last confirmation
 * (the Worker's, when the feed opened). A feed whose credentials ended is closed with
 * FEED_REVOKED. A check also confirms the feeds that would be due within CHECK_AHEAD_MS, so
 * feeds opened at different times share checks. If D1 fails or takes longer than
 * CREDENTIALS_TIMEOUT_MS (updates wait for a check), feeds go on and the check is tried again
 * after CREDENTIALS_RETRY_MS.
 */
export const CREDENTIALS_CHECK_MS = 60_000
const CHECK_AHEAD_MS = CREDENTIALS_CHECK_MS / 2
export const CREDENTIALS_TIMEOUT_MS = 2_000
export const CREDENTIALS_RETRY_MS = 10_000
/** Keys or sessions one check asks D1 about (a D1 read each); any others wait for the next. */
const SUBJECTS_PER_CHECK = 20
/**
 * Checks one message waits for at most; a feed still unchecked after them (more than
 * SUBJECTS_PER_CHECK × CHECK_ROUNDS keys or sessions due at once) is left out of that message.
 */
const CHECK_ROUNDS = 3
export const FEED_REVOKED = 4003

/** What a live-feed socket carries across hibernation. */
interface Watcher {
  openedAt: number
  /** The API key id or `admin:<session hash>` the feed was opened with (credentials.ts). */
  subject?: string
  /** When its credentials were last confirmed live; `openedAt` until the hub checks. */
  checkedAt?: number
  countersAt?: number
}

const credentials = lazy(() => import('./credentials'))

/** Flushed scans stay this long so a re-sent batch (the Worker retries for ~2 s) is recognised. */
export const DEDUPE_WINDOW_MS = 10 * 60_000
/**
 * D1 counts every statement of a batch against the per-invocation query limit (50 on the free
 * plan): 8 flushes of 5 statements stay under it. A bigger backlog re-arms the alarm at once.
 */
const MAX_FLUSHES_PER_ALARM = 8
const BACKOFF_BASE_MS = 2_000
const BACKOFF_MAX_MS = 5 * 60_000

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

const COUNTER_NAMES = [
  'scans',
  'human',
  'bot',
  'checkout_views',
  'pay_pressed',
  'paid',
  'human_qr',
  'human_direct',
] as const
type CounterName = (typeof COUNTER_NAMES)[number]

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const iso = (ms: number) => new Date(ms).toISOString()

export class CodeHub extends DurableObject<Env> {
  private readonly sql: SqlStorage
  private readonly feed: LiveFeed
  /** How fast the Worker's isolates should send this hub scans (pace.ts); memory only: a hint. */
  private readonly pacer = new Pacer()
  /** The alarm as last set by this instance (null: none); read from storage at start. */
  private alarmAt: number | null = null
  /**
   * Until then no watcher can have expired or be due for a credentials check: the earliest such
   * instant over the open sockets. 0 after a wake from hibernation, so the first look reads
   * every socket.
   */
  private feedsValidUntil = 0
  /** The credentials check in flight, if any (one at a time). */
  private checking: Promise<void> | undefined
  /** No credentials check starts before then: set after one that D1 could not answer. */
  private checkAfter = 0
  /** Test seam: runs after D1 committed a flush and before the hub records that it did. */
  flushHooks: { afterCommit?: (seq: number) => void } = {}

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    this.sql.exec(SCHEMA)
    this.upgradeStorage()
    const name = ctx.id.name
    if (name && this.getMeta('name') !== name) this.setMeta('name', name)
    this.feed = new LiveFeed(
      () => this.watchers(),
      () => this.recipients(),
      () => this.counters(),
      (ws) => ws.readyState === WebSocket.OPEN && !expired(watcherOf(ws), Date.now()),
    )
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'))
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm()
      // A flush interrupted by an eviction must not leave stored scans without an alarm.
      if (this.alarmAt === null && this.unflushedCount() > 0) this.armAlarm(Date.now())
    })
  }

  /**
   * The code this hub belongs to: the `{code}` part of its name (`{code}` or `{code}:{shard}`).
   * Remembered in storage, because an alarm may start the object without its name.
   */
  get codeId(): string {
    const name = this.ctx.id.name ?? (this.getMeta('name') as string | null)
    if (!name) throw new Error('CodeHub must be addressed by name: idFromName(codeId)')
    return name.split(':')[0] as string
  }

  /** Brings storage written by an older version of this class to the current layout (at start). */
  private upgradeStorage() {
    const legacy = this.sql
      .exec("select 1 from sqlite_master where type = 'table' and name = 'scans'")
      .toArray().length
    if (legacy) this.ctx.storage.transactionSync(() => this.sql.exec(FROM_SCAN_ROWS))
  }

  // ---------------------------------------------------------------- scans

  /**
   * Stores a batch of scans once, as one row, and updates the counters. A batch is known by its
   * first scan's id: the Worker re-sends a whole batch when a call fails (batcher.ts), never part
   * of one, so a batch seen before is ignored. Durable when it returns: the Worker acknowledges
   * the scans on this answer, and batches this code's next scans at the pace it carries.
   */
  async recordScans(scans: HubScan[]): Promise<{ stored: number; pace: Pace }> {
    const pace = this.pacer.call(Date.now())
    const codeId = this.codeId
    const key = scans[0]?.id
    if (key === undefined) return { stored: 0, pace }
    const seen = new Set<string>()
    const stored = scans.filter((s) => {
      if (s.codeId !== codeId) throw new Error(`scan ${s.id} is for ${s.codeId}, not ${codeId}`)
      if (seen.has(s.id)) return false
      seen.add(s.id)
      return true
    })
    let sealed = false
    const isNew = this.ctx.storage.transactionSync(() => {
      const seq = this.openSequence()
      const inserted = this.sql
        .exec(
          'insert into batches (id, seq, n, rows) values (?, ?, ?, ?) on conflict (id) do nothing returning 1',
          key,
          seq,
          stored.length,
          JSON.stringify(stored.map(scanRow)),
        )
        .toArray().length
      if (!inserted) return false
      const add = new Map<string, number>()
      const bump = (name: string) => add.set(name, (add.get(name) ?? 0) + 1)
      const days = new Map<string, Set<string>>()
      for (const s of stored) {
        bump('scans')
        bump(s.isBot ? 'bot' : 'human')
        if (s.isBot) continue
        bump(s.viaQr ? 'human_qr' : 'human_direct')
        if (s.checkoutView) bump('checkout_views')
        if (s.visitorHash) {
          const day = utcDay(s.scannedAt)
          const hashes = days.get(day) ?? new Set<string>()
          hashes.add(s.visitorHash)
          days.set(day, hashes)
        }
      }
      for (const [day, hashes] of days) {
        for (const hash of hashes) {
          const isNew = this.sql
            .exec(
              'insert into visitors (day, hash) values (?, ?) on conflict do nothing returning 1',
              day,
              hash,
            )
            .toArray().length
          if (isNew) bump(`unique:${day}`)
        }
      }
      this.addCounters(add)
      // A sequence is sealed once it holds FLUSH_MAX_SCANS; a batch never straddles two.
      sealed = this.scansIn(seq) >= FLUSH_MAX_SCANS
      if (sealed) this.setOpenSequence(seq + 1)
      return true
    })
    if (!isNew) return { stored: 0, pace }
    this.wantFlush(sealed ? Date.now() : Date.now() + FLUSH_DELAY_MS)
    this.feed.push(() => stored.map(liveScan))
    return { stored: stored.length, pace }
  }

  /** The code's exact totals (synchronous here; a Promise through the stub). */
  counters(): HubCounters {
    const values = new Map<string, number>()
    const today = `unique:${utcDay(Date.now())}`
    for (const row of this.sql.exec<{ name: string; value: number }>(
      `select name, value from counters where name in (${COUNTER_NAMES.map(() => '?').join(', ')}, ?)`,
      ...COUNTER_NAMES,
      today,
    )) {
      values.set(row.name, row.value)
    }
    const get = (name: CounterName) => values.get(name) ?? 0
    return {
      scans: get('scans'),
      human: get('human'),
      bot: get('bot'),
      unique_visitors_today: values.get(today) ?? 0,
      checkout_views: get('checkout_views'),
      pay_pressed: get('pay_pressed'),
      paid: get('paid'),
      human_qr: get('human_qr'),
      human_direct: get('human_direct'),
      unflushed: this.unflushedCount(),
    }
  }

  /**
   * What D1 may not have yet, for the stats API: the unflushed scans and funnel events in
   * [from, to), aggregated per flush sequence and UTC hour. The caller keeps the sequences D1
   * has not applied (see stats/query.ts), so nothing is counted twice or missed.
   */
  async pendingStats(range: { from: number; to: number }): Promise<PendingStats> {
    const { from, to } = range
    const inRange = (at: number) => at >= from && at < to
    const out: PendingStats = { hours: [], dimensions: [], visitors: [] }
    for (const seq of this.unflushedSeqs()) {
      const part = aggregate(
        seq,
        this.batchRows(seq).filter((s) => inRange(s.scanned_at)),
        this.funnelRows(seq).filter((f) => inRange(f.at)),
      )
      out.hours.push(...part.hours)
      out.dimensions.push(...part.dimensions)
      out.visitors.push(...part.visitors)
    }
    return out
  }

  // ---------------------------------------------------------------- flushing to D1

  override async alarm(): Promise<void> {
    this.alarmAt = null
    for (let i = 0; i < MAX_FLUSHES_PER_ALARM; i++) {
      const batch = this.nextFlush()
      if (!batch) break
      try {
        await flushToD1(this.env.DB, batch)
        this.flushHooks.afterCommit?.(batch.seq)
      } catch (err) {
        const failures = this.getMeta('failures', 0) + 1
        this.setMeta('failures', failures)
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1))
        console.error(
          `hub ${batch.codeId}: flush ${batch.seq} failed (attempt ${failures}); retrying in ${delay} ms`,
          err,
        )
        // Jitter spreads the retries of many hubs after a D1 outage.
        this.armAlarm(Date.now() + Math.round(delay * (0.8 + Math.random() * 0.4)), true)
        return
      }
      this.confirmFlush(batch.seq)
    }
    this.prune()
    this.scheduleNext()
  }

  /** The oldest unflushed sequence, sealed so nothing joins it while it is in flight. */
  private nextFlush(): FlushBatch | null {
    const seq = this.unflushedSeqs()[0]
    if (seq === undefined) return null
    if (seq >= this.openSequence()) this.setOpenSequence(seq + 1)
    const scans = this.batchRows(seq)
    const { hours, dimensions, visitors } = aggregate(seq, scans, this.funnelRows(seq))
    const strip = <T extends { seq: number }>(rows: T[]) => rows.map(({ seq: _, ...rest }) => rest)
    return {
      codeId: this.codeId,
      seq,
      scans: scanRowsJson(scans),
      hours: JSON.stringify(strip(hours)),
      dimensions: JSON.stringify(strip(dimensions)),
      visitors: JSON.stringify(strip(visitors)),
    }
  }

  /** Flush sequences with scans or funnel events D1 has not confirmed, oldest first. */
  private unflushedSeqs(): number[] {
    return this.sql
      .exec<{ seq: number }>(
        `select seq from batches where flushed_at is null
         union select seq from funnel where flushed_at is null order by seq`,
      )
      .toArray()
      .map((r) => r.seq)
  }

  /** The scans of a sequence's unflushed batches. */
  private batchRows(seq: number): ScanRow[] {
    const rows: ScanRow[] = []
    for (const batch of this.sql.exec<{ rows: string }>(
      'select rows from batches where seq = ? and flushed_at is null',
      seq,
    )) {
      rows.push(...(JSON.parse(batch.rows) as ScanRow[]))
    }
    return rows
  }

  private funnelRows(seq: number): FunnelRow[] {
    return this.sql
      .exec<{ kind: FunnelRow['kind']; at: number }>(
        'select kind, at from funnel where seq = ? and flushed_at is null',
        seq,
      )
      .toArray()
  }

  private confirmFlush(seq: number) {
    const now = Date.now()
    // A flushed batch keeps only its id, to recognise a re-sent batch; D1 has its scans.
    this.sql.exec(
      "update batches set flushed_at = ?, rows = '[]' where seq = ? and flushed_at is null",
      now,
      seq,
    )
    this.sql.exec('update funnel set flushed_at = ? where seq = ? and flushed_at is null', now, seq)
    this.setMeta('failures', 0)
  }

  private prune() {
    const now = Date.now()
    this.sql.exec('delete from batches where flushed_at < ?', now - DEDUPE_WINDOW_MS)
    // Flushed funnel events are in D1; the payments table keeps each payment's state, which is
    // what stops an event counting twice.
    this.sql.exec('delete from funnel where flushed_at < ?', now - DEDUPE_WINDOW_MS)
    this.sql.exec('delete from visitors where day < ?', utcDay(now))
    this.sql.exec(
      "delete from counters where name like 'unique:%' and name < ?",
      `unique:${utcDay(now)}`,
    )
  }

  private scheduleNext() {
    const now = Date.now()
    const pending = this.unflushedSeqs()[0]
    if (pending !== undefined && pending < this.openSequence()) this.armAlarm(now)
    else if (pending !== undefined) this.armAlarm(now + FLUSH_DELAY_MS)
    else {
      const oldest = this.sql.exec<{ at: number | null }>(HUB_QUERIES.oldestFlushed).one().at
      if (oldest !== null) this.armAlarm(oldest + DEDUPE_WINDOW_MS)
    }
  }

  /** Asks for a flush by `at`, unless a backoff after a failed flush is already scheduled. */
  private wantFlush(at: number) {
    if (this.alarmAt !== null && this.getMeta('failures', 0) > 0) return
    this.armAlarm(at)
  }

  /** Sets the alarm to `at` unless one is due earlier (`replace`: set it to `at` regardless). */
  private armAlarm(at: number, replace = false) {
    if (!replace && this.alarmAt !== null && this.alarmAt <= at) return
    this.alarmAt = at
    void this.ctx.storage.setAlarm(at)
  }

  /** Scans and funnel events waiting for D1. */
  private unflushedCount(): number {
    return this.sql
      .exec<{ n: number }>(
        `select (select coalesce(sum(n), 0) from batches where flushed_at is null)
           + (select count(*) from funnel where flushed_at is null) as n`,
      )
      .one().n
  }

  // ---------------------------------------------------------------- payments and the funnel

  /**
   * Holds a payment slot. `limit` null = unlimited (always ok; the hold is still recorded).
   * Otherwise refused when paid + live holds reach the limit: `sold_out` once paid alone does,
   * else `busy` (someone's checkout is open). Idempotent per payment id; the first reservation
   * of an id counts as "pay pressed" in the funnel.
   */
  async reservePayment(input: ReservePaymentInput): Promise<ReservePaymentResult> {
    const { paymentId, limit, holdUntil, replaces } = input
    if (typeof paymentId !== 'string' || !paymentId) throw new TypeError('paymentId is required')
    if (replaces !== undefined && (typeof replaces !== 'string' || replaces === paymentId)) {
      throw new TypeError('replaces is another payment id')
    }
    if (limit !== null && !(Number.isInteger(limit) && limit >= 0)) {
      throw new TypeError('limit is a non-negative integer or null')
    }
    if (!Number.isFinite(holdUntil)) throw new TypeError('holdUntil is epoch milliseconds')
    const now = Date.now()
    const ok = { ok: true } as const
    let replaced = false
    const { result, held } = this.ctx.storage.transactionSync(() => {
      if (replaces !== undefined) {
        replaced =
          this.sql
            .exec(
              "update payments set state = 'released', settled_at = ? where id = ? and state = 'held' returning 1",
              now,
              replaces,
            )
            .toArray().length > 0
      }
      const existing = this.payment(paymentId)
      if (existing?.state === 'paid') return { result: ok, held: false }
      // An extension (limit null) of a payment whose hold was already released is a stale
      // report: the payment failed or expired meanwhile. It must not take the slot back.
      if (limit === null && existing?.state === 'released') return { result: ok, held: false }
      if (existing?.state === 'held' && existing.hold_until > now) {
        this.sql.exec(
          'update payments set hold_until = max(hold_until, ?) where id = ?',
          holdUntil,
          paymentId,
        )
        return { result: ok, held: false }
      }
      if (limit !== null) {
        const { paid, held } = this.sql
          .exec<{ paid: number; held: number }>(
            `select coalesce(sum(state = 'paid'), 0) as paid,
               coalesce(sum(state = 'held' and hold_until > ?1 and id != ?2), 0) as held
             from payments`,
            now,
            paymentId,
          )
          .one()
        if (paid + held >= limit) {
          const reason = paid >= limit ? ('sold_out' as const) : ('busy' as const)
          return { result: { ok: false as const, reason }, held: false }
        }
      }
      this.sql.exec(
        `insert into payments (id, state, hold_until, reserved_at) values (?1, 'held', ?2, ?3)
         on conflict (id) do update set state = 'held', hold_until = ?2, settled_at = null`,
        paymentId,
        holdUntil,
        now,
      )
      if (!existing) this.funnelEvent(paymentId, 'pay_pressed', now)
      return { result: ok, held: true }
    })
    if (replaced && replaces !== undefined) {
      this.feed.push(() => [
        { type: 'payment', payment_id: replaces, status: 'released', at: iso(now) },
      ])
    }
    if (held) {
      this.feed.push(() => [
        { type: 'payment', payment_id: paymentId, status: 'pending', at: iso(now) },
      ])
    }
    return result
  }

  /**
   * Settles a payment. 'paid' counts once per id, also after its hold expired or was released
   * (the money was taken); 'released' frees a hold and does nothing to a paid payment.
   */
  async settlePayment(paymentId: string, outcome: PaymentOutcome): Promise<void> {
    if (typeof paymentId !== 'string' || !paymentId) throw new TypeError('paymentId is required')
    if (outcome !== 'paid' && outcome !== 'released') {
      throw new TypeError("outcome is 'paid' or 'released'")
    }
    const now = Date.now()
    const event = this.ctx.storage.transactionSync((): LiveEvent | null => {
      const existing = this.payment(paymentId)
      if (outcome === 'paid') {
        if (existing?.state === 'paid') return null
        if (!existing) {
          // Paid without a reservation: the customer still pressed pay.
          this.sql.exec(
            "insert into payments (id, state, hold_until, reserved_at, settled_at) values (?1, 'paid', ?2, ?2, ?2)",
            paymentId,
            now,
          )
          this.funnelEvent(paymentId, 'pay_pressed', now)
        } else {
          this.sql.exec(
            "update payments set state = 'paid', settled_at = ? where id = ?",
            now,
            paymentId,
          )
        }
        this.funnelEvent(paymentId, 'paid', now)
        return { type: 'payment', payment_id: paymentId, status: 'paid', at: iso(now) }
      }
      if (existing?.state !== 'held') return null
      this.sql.exec(
        "update payments set state = 'released', settled_at = ? where id = ?",
        now,
        paymentId,
      )
      return { type: 'payment', payment_id: paymentId, status: 'released', at: iso(now) }
    })
    if (event) this.feed.push(() => [event])
  }

  private payment(id: string) {
    return this.sql
      .exec<{ state: 'held' | 'paid' | 'released'; hold_until: number; reserved_at: number }>(
        'select state, hold_until, reserved_at from payments where id = ?',
        id,
      )
      .toArray()[0]
  }

  /** Records a funnel step once per payment, counts it, and queues it for the next D1 flush. */
  private funnelEvent(paymentId: string, kind: 'pay_pressed' | 'paid', at: number) {
    const inserted = this.sql
      .exec(
        'insert into funnel (payment_id, kind, at, seq) values (?, ?, ?, ?) on conflict do nothing returning 1',
        paymentId,
        kind,
        at,
        this.openSequence(),
      )
      .toArray().length
    if (!inserted) return
    this.addCounter(kind, 1)
    this.wantFlush(at + FLUSH_DELAY_MS)
  }

  // ---------------------------------------------------------------- live feed

  /** Accepts a live-feed WebSocket (the Worker has authenticated it) and greets it with the counters. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('Expected a WebSocket upgrade', { status: 426 })
    }
    // This object also records the code's scans and holds its payments: watchers are capped.
    const now = Date.now()
    if (
      this.watchers(now).length >= MAX_WATCHERS ||
      this.ctx.getWebSockets().length >= MAX_SOCKETS
    ) {
      return new Response('Too many watchers of this code', { status: 503 })
    }
    const { 0: client, 1: server } = new WebSocketPair()
    this.ctx.acceptWebSocket(server)
    const subject = request.headers.get(SUBJECT_HEADER) ?? undefined
    server.serializeAttachment({ openedAt: now, subject } satisfies Watcher)
    this.feedsValidUntil = Math.min(this.feedsValidUntil, now + CREDENTIALS_CHECK_MS)
    const hello: LiveMessage = { type: 'hello', code_id: this.codeId, counters: this.counters() }
    server.send(JSON.stringify(hello))
    return new Response(null, { status: 101, webSocket: client })
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    // The feed is one-way; a client may ask for the counters again, once a second at most ("ping"
    // is answered by the runtime without waking the hub).
    const now = Date.now()
    const watcher = watcherOf(ws)
    if (expired(watcher, now)) return endFeed(ws)
    if (message !== 'counters') return
    if (now - (watcher.countersAt ?? 0) < COUNTERS_EVERY_MS) return
    ws.serializeAttachment({ ...watcher, countersAt: now } satisfies Watcher)
    // After the updates already on their way to it, once its credentials are confirmed if due,
    // and not if it expired meanwhile.
    this.feed.deliver(this.confirmed([ws]), {
      type: 'counters',
      counters: this.counters(),
    })
  }

  /**
   * The live-feed sockets within FEED_MAX_MS; the others are closed here, sent nothing more. Reads
   * the sockets' attachments only once a watcher may have expired or be due for a check.
   */
  private watchers(now = Date.now()): WebSocket[] {
    // A socket being closed (an expired feed whose client has not answered) is not a watcher.
    const sockets = this.openSockets()
    if (now < this.feedsValidUntil) return sockets
    const open: WebSocket[] = []
    let validUntil = Number.POSITIVE_INFINITY
    for (const ws of sockets) {
      const watcher = watcherOf(ws)
      if (expired(watcher, now)) endFeed(ws)
      else {
        open.push(ws)
        const due = Math.max(checkDueAt(watcher), this.checkAfter)
        validUntil = Math.min(validUntil, watcher.openedAt + FEED_MAX_MS, due)
      }
    }
    this.feedsValidUntil = validUntil
    return open
  }

  private openSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN)
  }

  /**
   * The watchers to send an update to: at once when no feed is due for a credentials check
   * (CREDENTIALS_CHECK_MS), else once it has been checked.
   */
  private recipients(): WebSocket[] | Promise<WebSocket[]> {
    const now = Date.now()
    const open = this.watchers(now)
    if (now < this.feedsValidUntil) return open
    return this.confirmed(open)
  }

  /**
   * `sockets` once each one due for a credentials check has had it, less those it closed. The
   * recipients are fixed when the message is built, so a feed opened meanwhile is sent nothing
   * older than its hello (and LiveFeed.deliver keeps the messages in order).
   */
  private async confirmed(sockets: WebSocket[]): Promise<WebSocket[]> {
    const stillDue = (ws: WebSocket) => {
      const now = Date.now()
      return now >= this.checkAfter && checkDueAt(watcherOf(ws)) <= now
    }
    // A check covers the feeds due when it starts (SUBJECTS_PER_CHECK keys or sessions at most):
    // one that fell due meanwhile, or was left for later, needs the next.
    for (let round = 0; round < CHECK_ROUNDS; round++) {
      if (!sockets.some((ws) => ws.readyState === WebSocket.OPEN && stillDue(ws))) break
      await this.checkCredentials()
    }
    // One still unchecked (more keys than the rounds cover) gets this message only if D1 failed.
    // (One that expires before the message leaves gets nothing: LiveFeed's `stillWatching`.)
    return sockets.filter((ws) => ws.readyState === WebSocket.OPEN && !stillDue(ws))
  }

  /** Confirms in D1 that the credentials behind the feeds due for it are still live. */
  private checkCredentials(): Promise<void> {
    this.checking ??= this.runCredentialsCheck().finally(() => {
      this.checking = undefined
    })
    return this.checking
  }

  private async runCredentialsCheck() {
    const now = Date.now()
    // The most overdue first: they take the check's SUBJECTS_PER_CHECK places.
    const due = this.openSockets()
      .map((ws) => ({ ws, at: checkDueAt(watcherOf(ws)) }))
      .filter(({ at }) => at <= now + CHECK_AHEAD_MS)
      .sort((a, b) => a.at - b.at)
      .map(({ ws }) => ws)
    const subjects = new Set<string>()
    for (const ws of due) {
      const subject = watcherOf(ws).subject
      if (subject && subjects.size < SUBJECTS_PER_CHECK) subjects.add(subject)
    }
    let live: Set<string>
    try {
      live = await withTimeout(
        credentials.get().then((m) => m.liveSubjects(this.env.DB, [...subjects])),
        CREDENTIALS_TIMEOUT_MS,
      )
    } catch (err) {
      // Feeds go on meanwhile: closing every feed whenever D1 falters would be worse.
      this.checkAfter = Date.now() + CREDENTIALS_RETRY_MS
      console.error(`hub ${this.codeId}: live feeds' credentials not checked; retrying`, err)
      return
    } finally {
      this.feedsValidUntil = 0
    }
    for (const ws of due) {
      // Read again: a counters request may have written the attachment meanwhile.
      const watcher = watcherOf(ws)
      if (!watcher.subject) endFeed(ws)
      else if (!subjects.has(watcher.subject))
        continue // asked about by the next check
      else if (!live.has(watcher.subject)) revokeFeed(ws)
      else ws.serializeAttachment({ ...watcher, checkedAt: now } satisfies Watcher)
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string) {
    try {
      ws.close(code, reason)
    } catch {
      // Already closed, or a code that may not be sent (1005, 1006).
    }
  }

  // ---------------------------------------------------------------- small storage helpers

  private getMeta(key: string): unknown
  private getMeta(key: string, fallback: number): number
  private getMeta(key: string, fallback: unknown = null): unknown {
    const row = this.sql
      .exec<{ value: SqlStorageValue }>('select value from meta where key = ?', key)
      .toArray()[0]
    return row ? row.value : fallback
  }

  private setMeta(key: string, value: SqlStorageValue) {
    this.sql.exec(
      'insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value',
      key,
      value,
    )
  }

  /** The flush sequence new scans and funnel events join. */
  private openSequence(): number {
    return this.getMeta('open_seq', 1)
  }

  private setOpenSequence(seq: number) {
    this.setMeta('open_seq', seq)
  }

  /** Scans stored in the open flush sequence (whose batches are all unflushed). */
  private scansIn(seq: number): number {
    return this.sql.exec<{ n: number }>(HUB_QUERIES.scansInOpenSequence, seq).one().n
  }

  private addCounter(name: string, by: number) {
    this.addCounters(new Map([[name, by]]))
  }

  /** Adds to several counters in one statement. */
  private addCounters(add: Map<string, number>) {
    if (!add.size) return
    this.sql.exec(
      `insert into counters (name, value) select key, value from json_each(?) where true
       on conflict (name) do update set value = value + excluded.value`,
      JSON.stringify(Object.fromEntries(add)),
    )
  }
}

function liveScan(s: HubScan): LiveEvent {
  return {
    type: 'scan',
    id: s.id,
    at: iso(s.scannedAt),
    country: s.country,
    city: s.city,
    device: s.device,
    browser: s.browser,
    is_bot: s.isBot,
    checkout_view: s.checkoutView && !s.isBot,
  }
}

/** A socket accepted before sockets carried their opening time counts as expired. */
function watcherOf(ws: WebSocket): Watcher {
  const attached = ws.deserializeAttachment() as Partial<Watcher> | null
  return { ...attached, openedAt: attached?.openedAt ?? 0 }
}

const expired = (watcher: Watcher, now: number) => now - watcher.openedAt >= FEED_MAX_MS

/** When a feed's credentials are next to be confirmed. */
const checkDueAt = (watcher: Watcher) =>
  (watcher.checkedAt ?? watcher.openedAt) + CREDENTIALS_CHECK_MS

/** A feed whose API key was revoked or whose admin session ended: closed, not to reconnect. */
function revokeFeed(ws: WebSocket) {
  try {
    ws.close(FEED_REVOKED, 'credentials ended')
  } catch {
    // Already closing.
  }
}

function endFeed(ws: WebSocket) {
  try {
    ws.close(FEED_EXPIRED, 'feed expired: reconnect')
  } catch {
    // Already closing.
  }
}
