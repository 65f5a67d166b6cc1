/**
 * Payment holds for limited codes, and the checkout funnel they feed. A reservation holds one of
 * the code's slots until the payment is paid or released, or its hold runs out; pressing pay and
 * paying each count once per payment, and join the next flush to D1. These functions decide
 * over storage; CodeHub runs each inside one transaction, then asks for the flush and tells the
 * live feed what they return.
 */
import { addCounter } from './counters'
import { openSequence } from './storage'
import type {
  LiveEvent,
  LivePayment,
  PaymentOutcome,
  ReservePaymentInput,
  ReservePaymentResult,
} from './types'

/** What a decision leaves to do once it committed. */
export interface Effects {
  /** A funnel step was recorded: it waits for the next flush. */
  funnel: boolean
  /** For the live feed, each sent on its own. */
  events: LiveEvent[]
}

export function checkReservation(input: ReservePaymentInput) {
  const { paymentId, limit, holdUntil, replaces } = input
  if (typeof paymentId !== 'string' || !paymentId) throw new TypeError('paymentId is required')
  if (replaces !== undefined && (typeof replaces !== 'string' || replaces === paymentId)) {
    throw new TypeError('replaces is another payment id')
  }
  if (limit !== null && !(Number.isInteger(limit) && limit >= 0)) {
    throw new TypeError('limit is a non-negative integer or null')
  }
  if (!Number.isFinite(holdUntil)) throw new TypeError('holdUntil is epoch milliseconds')
}

export function checkSettlement(paymentId: string, outcome: PaymentOutcome) {
  if (typeof paymentId !== 'string' || !paymentId) throw new TypeError('paymentId is required')
  if (outcome !== 'paid' && outcome !== 'released' && outcome !== 'reopened') {
    throw new TypeError("outcome is 'paid', 'released' or 'reopened'")
  }
}

/** Holds a payment slot, or refuses it (see CodeHub.reservePayment). */
export function reserve(
  sql: SqlStorage,
  input: ReservePaymentInput,
  now: number,
): Effects & { result: ReservePaymentResult } {
  const { paymentId, limit, holdUntil, replaces } = input
  const ok = { ok: true } as const
  const events: LiveEvent[] = []
  if (replaces !== undefined) {
    const replaced =
      sql
        .exec(
          "update payments set state = 'released', settled_at = ? where id = ? and state = 'held' returning 1",
          now,
          replaces,
        )
        .toArray().length > 0
    if (replaced) events.push(paymentEvent(replaces, 'released', now))
  }
  const existing = payment(sql, paymentId)
  if (existing?.state === 'paid') return { result: ok, funnel: false, events }
  // An extension (limit null) of a payment whose hold was already released is a stale
  // report: the payment failed or expired meanwhile. It must not take the slot back.
  if (limit === null && existing?.state === 'released') return { result: ok, funnel: false, events }
  if (existing?.state === 'held' && existing.hold_until > now) {
    sql.exec(
      'update payments set hold_until = max(hold_until, ?) where id = ?',
      holdUntil,
      paymentId,
    )
    return { result: ok, funnel: false, events }
  }
  if (limit !== null) {
    const { paid, held } = sql
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
      return { result: { ok: false, reason }, funnel: false, events }
    }
  }
  sql.exec(
    `insert into payments (id, state, hold_until, reserved_at) values (?1, 'held', ?2, ?3)
     on conflict (id) do update set state = 'held', hold_until = ?2, settled_at = null`,
    paymentId,
    holdUntil,
    now,
  )
  const funnel = !existing && funnelStep(sql, paymentId, 'pay_pressed', now)
  events.push(paymentEvent(paymentId, 'pending', now))
  return { result: ok, funnel, events }
}

/** Settles a payment (see CodeHub.settlePayment). */
export function settle(
  sql: SqlStorage,
  paymentId: string,
  outcome: PaymentOutcome,
  now: number,
): Effects {
  const existing = payment(sql, paymentId)
  if (outcome === 'paid') {
    if (existing?.state === 'paid') return { funnel: false, events: [] }
    let funnel = false
    if (!existing) {
      // Paid without a reservation: the customer still pressed pay.
      sql.exec(
        "insert into payments (id, state, hold_until, reserved_at, settled_at) values (?1, 'paid', ?2, ?2, ?2)",
        paymentId,
        now,
      )
      funnel = funnelStep(sql, paymentId, 'pay_pressed', now)
    } else {
      sql.exec("update payments set state = 'paid', settled_at = ? where id = ?", now, paymentId)
    }
    funnel = funnelStep(sql, paymentId, 'paid', now) || funnel
    return { funnel, events: [paymentEvent(paymentId, 'paid', now)] }
  }
  if (outcome === 'reopened') {
    if (existing?.state !== 'paid') return { funnel: false, events: [] }
  } else if (existing?.state !== 'held') return { funnel: false, events: [] }
  sql.exec("update payments set state = 'released', settled_at = ? where id = ?", now, paymentId)
  return { funnel: false, events: [paymentEvent(paymentId, 'released', now)] }
}

function payment(sql: SqlStorage, id: string) {
  return sql
    .exec<{ state: 'held' | 'paid' | 'released'; hold_until: number; reserved_at: number }>(
      'select state, hold_until, reserved_at from payments where id = ?',
      id,
    )
    .toArray()[0]
}

/** Records a funnel step once per payment, and counts it; false if it was recorded before. */
function funnelStep(sql: SqlStorage, paymentId: string, kind: 'pay_pressed' | 'paid', at: number) {
  const inserted = sql
    .exec(
      'insert into funnel (payment_id, kind, at, seq) values (?, ?, ?, ?) on conflict do nothing returning 1',
      paymentId,
      kind,
      at,
      openSequence(sql),
    )
    .toArray().length
  if (inserted) addCounter(sql, kind, 1)
  return inserted > 0
}

function paymentEvent(id: string, status: LivePayment['status'], at: number): LivePayment {
  return { type: 'payment', payment_id: id, status, at: new Date(at).toISOString() }
}
