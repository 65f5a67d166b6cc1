/**
 * The offline test-mode provider, used when no Stripe key is configured (as in `npm run dev`). Its
 * "hosted checkout" is our own page where a person chooses success or failure; the choice goes
 * through the same `applyPaymentEvent` as a Stripe webhook. It refuses to exist in production.
 */
import { eq } from 'drizzle-orm'
import type { Db } from '../db/client'
import { payments } from '../db/schema'
import { newId } from '../lib/ids'
import type { PaymentProvider, SessionOutcome, SessionSnapshot } from './provider'
import { applyPaymentEvent } from './queries'

export const TEST_SESSION_PREFIX = 'test_cs_'

const OUTCOME_OF_STATUS: Record<string, SessionOutcome> = {
  pending: 'open',
  processing: 'processing',
  paid: 'paid',
  failed: 'failed',
  expired: 'expired',
  canceled: 'expired',
}

export function testModeProvider(db: Db, base: string): PaymentProvider {
  return {
    name: 'test',
    async createCheckout(request) {
      // Deterministic per payment, like Stripe's idempotency key: a retry yields the same session.
      const id = `${TEST_SESSION_PREFIX}${request.paymentId.slice('pay_'.length)}`
      return { id, url: `${base}/test-mode/checkout/${id}` }
    },
    async getSession(sessionId) {
      const [row] = await db.select().from(payments).where(eq(payments.sessionId, sessionId))
      const snapshot: SessionSnapshot = {
        id: sessionId,
        paymentId: row?.id ?? null,
        outcome: row ? (OUTCOME_OF_STATUS[row.status] ?? 'open') : 'expired',
        amount: row?.amount ?? null,
        currency: row?.currency ?? null,
        email: row?.customerEmail ?? null,
        method: null,
      }
      return snapshot
    },
    async cancelSession(sessionId) {
      const [row] = await db.select().from(payments).where(eq(payments.sessionId, sessionId))
      if (!row) return true
      const { payment } = await applyPaymentEvent(db, {
        id: newId('evt'),
        provider: 'test',
        type: 'test.session.canceled',
        paymentId: row.id,
        sessionId,
        outcome: 'expired',
        amount: null,
        currency: null,
        email: null,
        method: null,
      })
      return payment?.status !== 'paid' && payment?.status !== 'processing'
    },
  }
}
