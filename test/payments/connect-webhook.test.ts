/**
 * The Connect webhook, `/webhooks/stripe/connect`: the whole platform loop (onboard → pay on the
 * connected account → its event marks the payment paid), and every guarantee of the platform's
 * webhook held here too: signature, the sending account, duplicates, order, amount and currency.
 * Real SDK against the in-repo fake, which signs the events.
 */
import { env } from 'cloudflare:workers'
import Stripe from 'stripe'
import { describe, expect, inject, it } from 'vitest'
import { fakeStripe, pay, stripeEnv, stripeRequests, WEBHOOK_SECRET } from '../checkout/support'
import { call, merchantWithCode } from '../helpers'
import {
  CONNECT_WEBHOOK_SECRET,
  connectedMerchant,
  paymentRow,
  platformEnv,
} from './connect-support'

interface Built {
  event: Record<string, unknown>
  payload: string
  signature: string
}

/** A signed event the fake builds about one of its objects (`account` overrides the sender). */
async function built(
  type: string,
  object: string,
  extra: { account?: string | null; created?: number; secret?: string } = {},
) {
  return (await fakeStripe('events', {
    type,
    object,
    secret: CONNECT_WEBHOOK_SECRET,
    ...extra,
  })) as unknown as Built
}

function deliver(
  event: Pick<Built, 'payload' | 'signature'>,
  path = '/webhooks/stripe/connect',
  bindings: Record<string, string> = platformEnv(),
) {
  return call(path, {
    method: 'POST',
    body: event.payload,
    headers: { 'stripe-signature': event.signature, 'content-type': 'application/json' },
    env: bindings,
  })
}

/** Signs a payload of our own making with the Connect secret (to tamper with what the fake made). */
async function signedPayload(payload: string, secret = CONNECT_WEBHOOK_SECRET) {
  const signature = await new Stripe('sk_test_fake').webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  })
  return { payload, signature }
}

const handled = async (response: Response) => {
  expect(response.status).toBe(200)
  return ((await response.json()) as { handled: boolean }).handled
}

async function accountState(key: string) {
  const response = await call('/api/v1/account', { key, env: platformEnv() })
  return (await response.json()) as Record<string, unknown>
}

async function eventsOf(paymentId: string) {
  const row = await env.DB.prepare('select count(*) as n from payment_events where payment_id = ?')
    .bind(paymentId)
    .first<{ n: number }>()
  return row?.n ?? 0
}

/** A ready merchant who pressed pay, and whose session the customer completed at Stripe. */
async function paidAtStripe() {
  const merchant = await connectedMerchant('ready')
  expect((await pay(merchant.code.slug, {}, platformEnv())).status).toBe(303)
  const payment = await paymentRow(merchant.code.id)
  if (!payment) throw new Error('no payment')
  await fakeStripe(`sessions/${payment.session_id}/complete`, { email: 'ana@example.com' })
  return { ...merchant, payment }
}

describe('the platform loop through the Connect webhook', () => {
  it('onboards through account.updated, pays on the connected account, marks it paid', async () => {
    // Connected, onboarding not finished: the merchant has not come back from Stripe.
    const { account, code, key } = await connectedMerchant(null)
    expect(await accountState(key)).toMatchObject({ payable: false })

    await fakeStripe(`accounts/${account}/state`, {
      state: 'requirements_due',
      currently_due: ['external_account'],
    })
    expect(await handled(await deliver(await built('account.updated', account)))).toBe(true)
    expect(await accountState(key)).toMatchObject({
      payable: false,
      payable_reason: 'account_not_ready',
      details_submitted: true,
      requirements_due: ['external_account'],
    })
    expect((await pay(code.slug, {}, platformEnv())).status).toBe(503)

    await fakeStripe(`accounts/${account}/state`, { state: 'ready' })
    expect(await handled(await deliver(await built('account.updated', account)))).toBe(true)
    expect(await accountState(key)).toMatchObject({ payable: true, charges_enabled: true })

    expect((await pay(code.slug, {}, platformEnv())).status).toBe(303)
    const payment = await paymentRow(code.id)
    if (!payment) throw new Error('no payment')
    const [create] = (await stripeRequests()).filter((r) => r.idempotencyKey === payment.id)
    expect(create?.stripeAccount).toBe(account)
    expect(create?.params).toMatchObject({ payment_intent_data: { application_fee_amount: '43' } })

    await fakeStripe(`sessions/${payment.session_id}/complete`, { email: 'ana@example.com' })
    const completed = await built('checkout.session.completed', payment.session_id)
    expect(completed.event.account).toBe(account)
    const before = (await stripeRequests()).length
    expect(await handled(await deliver(completed))).toBe(true)
    const paid = await paymentRow(code.id)
    expect(paid).toMatchObject({
      status: 'paid',
      customer_email: 'ana@example.com',
      method_last4: '4242',
      stripe_account: account,
    })
    // The card details for the receipt were read from the connected account.
    const reads = (await stripeRequests()).slice(before)
    expect(reads.length).toBeGreaterThan(0)
    expect(reads.every((r) => r.stripeAccount === account)).toBe(true)
  })
})

describe('the Connect webhook changes nothing it should not', () => {
  it('ignores an event from another account than the payment’s (logged, 200 handled:false)', async () => {
    const { payment, code } = await paidAtStripe()
    const other = await connectedMerchant('ready')
    const forged = await built('checkout.session.completed', payment.session_id, {
      account: other.account,
    })
    expect(forged.event.account).toBe(other.account)
    expect(await handled(await deliver(forged))).toBe(false)
    expect((await paymentRow(code.id))?.status).toBe('pending')
    expect(await eventsOf(payment.id)).toBe(0)
    // The payment's own account's event still applies afterwards.
    const genuine = await built('checkout.session.completed', payment.session_id)
    expect(await handled(await deliver(genuine))).toBe(true)
    expect((await paymentRow(code.id))?.status).toBe('paid')
  })

  it('ignores the connected account’s event arriving on the platform endpoint, and the reverse', async () => {
    const { payment, code } = await paidAtStripe()
    // Signed with the platform endpoint's secret, without an account: the platform's own event.
    const asPlatform = await built('checkout.session.completed', payment.session_id, {
      account: null,
      secret: WEBHOOK_SECRET,
    })
    expect(await handled(await deliver(asPlatform, '/webhooks/stripe'))).toBe(false)
    // Without an account on the Connect endpoint: no connected account sent it.
    const noAccount = await built('checkout.session.completed', payment.session_id, {
      account: null,
    })
    expect(await handled(await deliver(noAccount))).toBe(false)
    expect((await paymentRow(code.id))?.status).toBe('pending')
    expect(await eventsOf(payment.id)).toBe(0)
  })

  it('applies a duplicate once, and never goes backwards', async () => {
    const { payment, code } = await paidAtStripe()
    const completed = await built('checkout.session.completed', payment.session_id)
    expect(await handled(await deliver(completed))).toBe(true)
    expect(await handled(await deliver(completed))).toBe(true)
    expect(await eventsOf(payment.id)).toBe(1)
    // A late `expired` (out of order) leaves it paid.
    await fakeStripe(`sessions/${payment.session_id}/get`, {})
    const late = JSON.parse(completed.payload) as Record<string, unknown> & {
      data: { object: Record<string, unknown> }
    }
    late.id = 'evt_late_expired'
    late.type = 'checkout.session.expired'
    late.data.object = { ...late.data.object, status: 'expired' }
    await deliver(await signedPayload(JSON.stringify(late)))
    expect((await paymentRow(code.id))?.status).toBe('paid')
  })

  it.each([
    ['another amount', { amount_total: 449 }],
    ['another currency (450 JPY for €4.50)', { currency: 'jpy' }],
  ])('leaves the payment pending for %s', async (_name, change) => {
    const { payment, code } = await paidAtStripe()
    const completed = await built('checkout.session.completed', payment.session_id)
    const event = JSON.parse(completed.payload) as { data: { object: Record<string, unknown> } }
    event.data.object = { ...event.data.object, ...change }
    expect(await handled(await deliver(await signedPayload(JSON.stringify(event))))).toBe(false)
    expect((await paymentRow(code.id))?.status).toBe('pending')
  })

  it('refuses a bad signature, a missing one, the platform’s secret, and no secret at all', async () => {
    const { payment, code } = await paidAtStripe()
    const completed = await built('checkout.session.completed', payment.session_id)
    const tampered = { ...completed, payload: completed.payload.replace('"paid"', '"unpaid"') }
    for (const [response, status] of [
      [await deliver(tampered), 400],
      [await deliver({ ...completed, signature: '' }), 400],
      [await deliver(await signedPayload(completed.payload, WEBHOOK_SECRET)), 400],
      [
        await deliver(completed, undefined, platformEnv({ STRIPE_CONNECT_WEBHOOK_SECRET: '' })),
        503,
      ],
    ] as const) {
      expect(response.status).toBe(status)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
    }
    const notJson = await deliver(await signedPayload('{"id":'))
    expect(notJson.status).toBe(400)
    expect((await paymentRow(code.id))?.status).toBe('pending')
  })
})

describe('account.updated keeps the merchant’s state, and only its own', () => {
  it('ignores an event older than the state stored', async () => {
    const { account, key } = await connectedMerchant(null)
    await fakeStripe(`accounts/${account}/state`, { state: 'ready' })
    const now = Math.floor(Date.now() / 1000)
    expect(await handled(await deliver(await built('account.updated', account)))).toBe(true)
    await fakeStripe(`accounts/${account}/state`, { state: 'requirements_due' })
    const older = await built('account.updated', account, { created: now - 120 })
    expect(await handled(await deliver(older))).toBe(true)
    expect(await accountState(key)).toMatchObject({ payable: true, charges_enabled: true })
  })

  it('changes nothing for an event about another account, or an account nobody has', async () => {
    const { account, key } = await connectedMerchant(null)
    const other = await connectedMerchant(null)
    await fakeStripe(`accounts/${account}/state`, { state: 'ready' })
    // Sent by another connected account about this one.
    const forged = await built('account.updated', account, { account: other.account })
    expect(await handled(await deliver(forged))).toBe(false)
    expect(await accountState(key)).toMatchObject({ payable: false, updated_at: null })
    // An account no merchant of ours has (made straight at Stripe, by someone else).
    const made = await fetch(`http://127.0.0.1:${inject('stripePort')}/v1/accounts`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sk_test_fake',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'type=standard',
    })
    const stranger = ((await made.json()) as { id: string }).id
    expect(await handled(await deliver(await built('account.updated', stranger)))).toBe(false)
  })

  it('forgets an account the merchant disconnected; its payments keep it', async () => {
    const { account, key, code } = await connectedMerchant('ready')
    expect((await pay(code.slug, {}, platformEnv())).status).toBe(303)
    const deauthorized = await built('account.application.deauthorized', account)
    expect(await handled(await deliver(deauthorized))).toBe(true)
    expect(await accountState(key)).toMatchObject({
      payable: false,
      payable_reason: 'no_payment_account',
      stripe_account_id: null,
    })
    expect((await paymentRow(code.id))?.stripe_account).toBe(account)
    // A late account.updated of the old account finds no merchant.
    expect(await handled(await deliver(await built('account.updated', account)))).toBe(false)
    expect((await pay(code.slug, {}, platformEnv())).status).toBe(503)
  })
})

describe('switching modes changes nothing already made', () => {
  it('settles a one-business payment through the platform endpoint after the switch', async () => {
    const { code } = await merchantWithCode()
    expect((await pay(code.slug, {}, stripeEnv())).status).toBe(303)
    const payment = await paymentRow(code.id)
    if (!payment) throw new Error('no payment')
    expect(payment.stripe_account).toBeNull()
    await fakeStripe(`sessions/${payment.session_id}/complete`, {})
    // The deployment is a platform now; the session's event still comes from its own account.
    const completed = await built('checkout.session.completed', payment.session_id, {
      secret: WEBHOOK_SECRET,
    })
    expect(completed.event.account).toBeUndefined()
    expect(await handled(await deliver(completed, '/webhooks/stripe'))).toBe(true)
    expect((await paymentRow(code.id))?.status).toBe('paid')
  })
})

describe('refunds and disputes of a payment made on a connected account', () => {
  it('refunds on that account, and takes its dispute events from that account only', async () => {
    const { payment, code, key, account } = await paidAtStripe()
    const completed = await built('checkout.session.completed', payment.session_id)
    expect(await handled(await deliver(completed))).toBe(true)
    const intent = (await paymentRow(code.id))?.provider_payment_id
    expect(intent).toMatch(/^pi_/)

    // A refund through the API is asked of the account the payment was made on.
    const before = (await stripeRequests()).length
    const refunded = await call(`/api/v1/payments/${payment.id}/refunds`, {
      key,
      method: 'POST',
      json: { amount: 100 },
      env: platformEnv(),
    })
    expect(refunded.status).toBe(201)
    const sent = (await stripeRequests()).slice(before).filter((r) => r.path === '/v1/refunds')
    expect(sent.map((r) => r.stripeAccount)).toEqual([account])

    // A dispute event about this payment sent by another connected account changes nothing.
    const dispute = (await fakeStripe(`charges/${intent}/dispute`, {})) as { id: string }
    const other = await connectedMerchant('ready')
    const forged = await built('charge.dispute.created', dispute.id, { account: other.account })
    expect(await handled(await deliver(forged))).toBe(false)
    expect((await paymentRow(code.id))?.dispute_status).toBeNull()
    const genuine = await built('charge.dispute.created', dispute.id)
    expect(await handled(await deliver(genuine))).toBe(true)
    expect((await paymentRow(code.id))?.dispute_status).toBe('needs_response')
  })
})
