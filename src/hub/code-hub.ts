/**
 * `CodeHub`: the real-time side of one code, a SQLite-backed Durable Object named by the code id.
 * This class is its RPC surface, its transactions and its alarm; the work is done by plain
 * functions over its storage:
 *
 * - scans.ts: scans arrive in batches (`recordScans`) and are stored in the hub's own SQLite
 *   before the call returns, so an acknowledged scan survives eviction. Exact counters are kept
 *   next to them (counters.ts).
 * - flushing.ts: an alarm flushes stored scans to D1 (see flush.ts), oldest flush sequence first,
 *   and marks them flushed only after D1 committed; on failure it re-arms itself with backoff.
 * - holds.ts: payment holds for limited codes (`reservePayment`, `settlePayment`) and the
 *   checkout funnel.
 * - watchers.ts: the live feed, WebSockets accepted with the hibernation API, updates coalesced
 *   (feed.ts), each feed's API key or admin session confirmed in D1 once a minute.
 * - storage.ts: the tables, and the values the others share.
 *
 * Every RPC method does its storage work with the synchronous `ctx.storage.sql` and never awaits
 * in between, so concurrent calls cannot interleave inside a decision: each decision is one
 * `transactionSync` here, over functions that are synchronous for that reason.
 */
import { DurableObject } from 'cloudflare:workers'
import { forgetPastDays, readCounters } from './counters'
import { LiveFeed } from './feed'
import { flushToD1 } from './flush'
import {
  confirmFlush,
  flushFailed,
  flushOf,
  isBackingOff,
  MAX_FLUSHES_PER_ALARM,
  nextAlarmAt,
  nextFlushSequence,
  pendingStatsIn,
  pruneFlushed,
  unflushedCount,
} from './flushing'
import { checkReservation, checkSettlement, type Effects, reserve, settle } from './holds'
import { FLUSH_DELAY_MS } from './limits'
import { type Pace, Pacer } from './pace'
import { liveScan, scansToStore, storeBatch } from './scans'
import { codeIdOf, openStorage } from './storage'
import {
  type HubCounters,
  type HubScan,
  type LiveMessage,
  type PaymentOutcome,
  type PendingStats,
  type ReservePaymentInput,
  type ReservePaymentResult,
  SUBJECT_HEADER,
} from './types'
import {
  acceptWatcher,
  confirmed,
  type Feeds,
  feedsOf,
  isFull,
  recipients,
  stillWatching,
  takeCountersRequest,
  watchers,
} from './watchers'

// test/admin/live.test.ts reads these here; their home is watchers.ts.
export { CREDENTIALS_CHECK_MS, FEED_REVOKED } from './watchers'

export class CodeHub extends DurableObject<Env> {
  private readonly sql: SqlStorage
  private readonly feeds: Feeds
  private readonly feed: LiveFeed
  /** How fast the Worker's isolates should send this hub scans (pace.ts); memory only: a hint. */
  private readonly pacer = new Pacer()
  /** The alarm as last set by this instance (null: none); read from storage at start. */
  private alarmAt: number | null = null
  /** Test seam: runs after D1 committed a flush and before the hub records that it did. */
  flushHooks: { afterCommit?: (seq: number) => void } = {}

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    openStorage(ctx.storage, ctx.id.name)
    this.feeds = feedsOf(
      ctx,
      () => this.env.DB,
      () => this.codeId,
    )
    this.feed = new LiveFeed(
      () => watchers(this.feeds),
      () => recipients(this.feeds),
      () => this.counters(),
      (ws) => stillWatching(ws, Date.now()),
    )
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'))
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm()
      // A flush interrupted by an eviction must not leave stored scans without an alarm.
      if (this.alarmAt === null && unflushedCount(this.sql) > 0) this.armAlarm(Date.now())
    })
  }

  /** The code this hub belongs to (storage.ts: an alarm may start the object without its name). */
  get codeId(): string {
    return codeIdOf(this.ctx)
  }

  /**
   * Stores a batch of scans once, as one row, and updates the counters. A batch is known by its
   * first scan's id: the Worker re-sends a whole batch when a call fails (scan/batcher.ts), never
   * part of one, so a batch seen before is ignored. Durable when it returns: the Worker
   * acknowledges the scans on this answer, and batches this code's next scans at the pace it
   * carries.
   */
  async recordScans(scans: HubScan[]): Promise<{ stored: number; pace: Pace }> {
    const pace = this.pacer.call(Date.now())
    const codeId = this.codeId
    const key = scans[0]?.id
    if (key === undefined) return { stored: 0, pace }
    const stored = scansToStore(scans, codeId)
    const batch = this.ctx.storage.transactionSync(() => storeBatch(this.sql, key, stored))
    if (!batch) return { stored: 0, pace }
    this.wantFlush(batch.sealed ? Date.now() : Date.now() + FLUSH_DELAY_MS)
    this.feed.push(() => stored.map(liveScan))
    return { stored: stored.length, pace }
  }

  /** The code's exact totals (synchronous here; a Promise through the stub). */
  counters(): HubCounters {
    return { ...readCounters(this.sql, Date.now()), unflushed: unflushedCount(this.sql) }
  }

  /** What D1 may not have yet, for the stats API (flushing.ts). */
  async pendingStats(range: { from: number; to: number }): Promise<PendingStats> {
    return pendingStatsIn(this.sql, range)
  }

  // ---------------------------------------------------------------- flushing to D1

  override async alarm(): Promise<void> {
    this.alarmAt = null
    for (let i = 0; i < MAX_FLUSHES_PER_ALARM; i++) {
      const seq = nextFlushSequence(this.sql)
      if (seq === null) break
      const batch = flushOf(this.sql, this.codeId, seq)
      try {
        await flushToD1(this.env.DB, batch)
        this.flushHooks.afterCommit?.(batch.seq)
      } catch (err) {
        this.armAlarm(flushFailed(this.sql, batch, err), true)
        return
      }
      confirmFlush(this.sql, batch.seq)
    }
    const now = Date.now()
    pruneFlushed(this.sql, now)
    forgetPastDays(this.sql, now)
    const next = nextAlarmAt(this.sql)
    if (next !== null) this.armAlarm(next)
  }

  /** Asks for a flush by `at`, unless a backoff after a failed flush is already scheduled. */
  private wantFlush(at: number) {
    if (this.alarmAt !== null && isBackingOff(this.sql)) return
    this.armAlarm(at)
  }

  /** Sets the alarm to `at` unless one is due earlier (`replace`: set it to `at` regardless). */
  private armAlarm(at: number, replace = false) {
    if (!replace && this.alarmAt !== null && this.alarmAt <= at) return
    this.alarmAt = at
    void this.ctx.storage.setAlarm(at)
  }

  // ---------------------------------------------------------------- payments and the funnel

  /**
   * Holds a payment slot. `limit` null = unlimited (always ok; the hold is still recorded).
   * Otherwise refused when paid + live holds reach the limit: `sold_out` once paid alone does,
   * else `busy` (someone's checkout is open). Idempotent per payment id; the first reservation
   * of an id counts as "pay pressed" in the funnel.
   */
  async reservePayment(input: ReservePaymentInput): Promise<ReservePaymentResult> {
    checkReservation(input)
    const now = Date.now()
    const decision = this.ctx.storage.transactionSync(() => reserve(this.sql, input, now))
    this.afterPayment(decision, now)
    return decision.result
  }

  /**
   * Settles a payment. 'paid' counts once per id, also after its hold expired or was released
   * (the money was taken); 'released' frees a hold and does nothing to a paid payment;
   * 'reopened' frees a paid payment's slot (fully refunded, at the merchant's ask).
   */
  async settlePayment(paymentId: string, outcome: PaymentOutcome): Promise<void> {
    checkSettlement(paymentId, outcome)
    const now = Date.now()
    const decision = this.ctx.storage.transactionSync(() =>
      settle(this.sql, paymentId, outcome, now),
    )
    this.afterPayment(decision, now)
  }

  /** Once a payment decision committed: its funnel steps join the next flush, the feed hears. */
  private afterPayment({ funnel, events }: Effects, now: number) {
    if (funnel) this.wantFlush(now + FLUSH_DELAY_MS)
    for (const event of events) this.feed.push(() => [event])
  }

  // ---------------------------------------------------------------- live feed

  /** Accepts a live-feed WebSocket (the Worker has authenticated it) and greets it with the counters. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('Expected a WebSocket upgrade', { status: 426 })
    }
    // This object also records the code's scans and holds its payments: watchers are capped.
    const now = Date.now()
    if (isFull(this.feeds, now)) {
      return new Response('Too many watchers of this code', { status: 503 })
    }
    const { 0: client, 1: server } = new WebSocketPair()
    acceptWatcher(this.feeds, server, request.headers.get(SUBJECT_HEADER) ?? undefined, now)
    const hello: LiveMessage = { type: 'hello', code_id: this.codeId, counters: this.counters() }
    server.send(JSON.stringify(hello))
    return new Response(null, { status: 101, webSocket: client })
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    if (!takeCountersRequest(ws, message, Date.now())) return
    // After the updates already on their way to it, once its credentials are confirmed if due,
    // and not if it expired meanwhile.
    this.feed.deliver(confirmed(this.feeds, [ws]), {
      type: 'counters',
      counters: this.counters(),
    })
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string) {
    try {
      ws.close(code, reason)
    } catch {
      // Already closed, or a code that may not be sent (1005, 1006).
    }
  }
}
