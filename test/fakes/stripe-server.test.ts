/**
 * The fake Stripe's Connect, refund and dispute surface, driven by the real SDK (inside workerd,
 * with the fetch client, as the Worker drives it): what issue 19's tests stand on. The fake is
 * the run's shared one (test/global-setup.ts), so every test makes its own accounts and payments.
 */
import Stripe from 'stripe'
import { describe, expect, inject, it } from 'vitest'

const port = inject('stripePort')
const stripe = new Stripe('sk_test_fake', {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  httpClient: Stripe.createFetchHttpClient(),
  maxNetworkRetries: 0,
})
const cryptoProvider = Stripe.createSubtleCryptoProvider()
const CONNECT_SECRET = 'whsec_test_connect_secret'

type Json = Record<string, unknown>

/** A test control call of the fake (`/__fake/…`): GET without a body, else POST. */
async function control<T = Json>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}/__fake/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await response.json()) as T
}

/** The Stripe error a call was refused with (fails the test if it was not refused). */
async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => null,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(Stripe.errors.StripeError)
  return error as InstanceType<typeof Stripe.errors.StripeError>
}

/** A connected account that finished onboarding and can take charges. */
async function readyAccount(type: 'express' | 'standard' = 'express') {
  const account = await stripe.accounts.create({ type, country: 'DE', email: 'luna@example.com' })
  await control(`accounts/${account.id}/state`, { state: 'ready' })
  return account.id
}

/** A paid Checkout Session on the account (a direct charge), with a platform fee of 30. */
async function paidOn(account: string, amount = 450) {
  const session = await stripe.checkout.sessions.create(
    {
      mode: 'payment',
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: 'eur',
            unit_amount: amount,
            product_data: { name: 'Flat white' },
          },
        },
      ],
      payment_intent_data: { application_fee_amount: 30, metadata: { payment_id: 'pay_x' } },
      success_url: 'https://qr.test/done',
      cancel_url: 'https://qr.test/cancel',
      expires_at: Math.floor(Date.now() / 1000) + 3600,
    },
    { stripeAccount: account, idempotencyKey: crypto.randomUUID() },
  )
  const completed = await control<{ payment_intent: string }>(`sessions/${session.id}/complete`, {
    payment_status: 'paid',
  })
  return { session, intent: completed.payment_intent }
}

/** Builds a signed event with the fake and verifies it as a webhook endpoint would. */
async function verifiedEvent(request: Json) {
  const built = await control<{ payload: string; signature: string; event: Json }>('events', {
    secret: CONNECT_SECRET,
    ...request,
  })
  const event = await stripe.webhooks.constructEventAsync(
    built.payload,
    built.signature,
    CONNECT_SECRET,
    300,
    cryptoProvider,
  )
  return { ...built, verified: event }
}

describe('connected accounts and onboarding', () => {
  it.each([
    ['express', 'express'],
    ['standard', 'full'],
  ] as const)(
    'creates a %s account that cannot charge until onboarded',
    async (type, dashboard) => {
      const account = await stripe.accounts.create({ type, country: 'DE' })
      expect(account).toMatchObject({
        object: 'account',
        type,
        country: 'DE',
        default_currency: 'eur',
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: false,
        controller: { stripe_dashboard: { type: dashboard } },
        requirements: {
          currently_due: expect.arrayContaining(['external_account', 'tos_acceptance.date']),
          eventually_due: expect.arrayContaining(['external_account']),
          past_due: expect.arrayContaining(['external_account']),
          disabled_reason: 'requirements.past_due',
        },
      })
      expect(account.id).toMatch(/^acct_/)
    },
  )

  it('takes the account type from controller too, and refuses neither', async () => {
    const account = await stripe.accounts.create({
      controller: {
        stripe_dashboard: { type: 'express' },
        fees: { payer: 'application' },
        losses: { payments: 'application' },
      },
    })
    expect(account.type).toBe('express')
    const neither = await refusal(stripe.accounts.create({ country: 'DE' }))
    expect(neither).toMatchObject({ statusCode: 400, param: 'type' })
  })

  it('makes a hosted onboarding link, refusing one without a return page or for no account', async () => {
    const account = await stripe.accounts.create({ type: 'express' })
    const link = await stripe.accountLinks.create({
      account: account.id,
      refresh_url: 'https://qr.test/admin/settings/stripe/refresh',
      return_url: 'https://qr.test/admin/settings/stripe/return',
      type: 'account_onboarding',
    })
    expect(link).toMatchObject({ object: 'account_link' })
    expect(link.url).toMatch(new RegExp(`^https://connect\\.stripe\\.com/setup/e/${account.id}/`))
    expect(link.expires_at).toBeGreaterThan(link.created)

    const noReturn = await refusal(
      stripe.accountLinks.create({
        account: account.id,
        refresh_url: 'https://qr.test/refresh',
        type: 'account_onboarding',
      }),
    )
    expect(noReturn).toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'return_url',
    })
    const nobody = await refusal(
      stripe.accountLinks.create({
        account: 'acct_nobody',
        refresh_url: 'https://qr.test/refresh',
        return_url: 'https://qr.test/return',
        type: 'account_onboarding',
      }),
    )
    expect(nobody).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'account' })
  })

  it.each([
    [
      'ready',
      { charges_enabled: true, payouts_enabled: true, details_submitted: true },
      { currently_due: [], past_due: [], disabled_reason: null },
    ],
    [
      'requirements_due',
      { charges_enabled: false, payouts_enabled: false, details_submitted: true },
      {
        currently_due: ['individual.verification.document', 'external_account'],
        disabled_reason: 'requirements.past_due',
      },
    ],
    [
      'rejected',
      { charges_enabled: false, payouts_enabled: false, details_submitted: true },
      { currently_due: [], disabled_reason: 'rejected.fraud' },
    ],
  ])(
    'shows an account %s after onboarding, to the platform and to itself',
    async (state, flags, requirements) => {
      const account = await stripe.accounts.create({ type: 'standard' })
      await control(`accounts/${account.id}/state`, { state })
      const expected = { id: account.id, ...flags, requirements }
      expect(await stripe.accounts.retrieve(account.id)).toMatchObject(expected)
      expect(
        await stripe.accounts.retrieve(account.id, {}, { stripeAccount: account.id }),
      ).toMatchObject(expected)
      // `GET /v1/account` with the header: the account the call is made for.
      expect(await stripe.accounts.retrieve(null, {}, { stripeAccount: account.id })).toMatchObject(
        expected,
      )
    },
  )

  it('keeps one connected account from reading another, and refuses an unknown one', async () => {
    const [mine, theirs] = [await readyAccount(), await readyAccount()]
    const other = await refusal(stripe.accounts.retrieve(theirs, {}, { stripeAccount: mine }))
    expect(other).toMatchObject({ statusCode: 404, code: 'resource_missing' })
    const unknown = await refusal(
      stripe.accounts.retrieve('acct_unknown', {}, { stripeAccount: 'acct_unknown' }),
    )
    expect(unknown).toMatchObject({ statusCode: 403, code: 'account_invalid' })
  })
})

describe('Checkout on a connected account', () => {
  it('records the direct charge, its Stripe-Account and the platform fee', async () => {
    const account = await readyAccount()
    const { session, intent } = await paidOn(account)
    const requests = await control<Json[]>('requests')
    const created = requests.filter(
      (r) => r.path === '/v1/checkout/sessions' && r.stripeAccount === account,
    )
    expect(created).toHaveLength(1)
    expect(created[0]?.params).toMatchObject({
      payment_intent_data: { application_fee_amount: '30' },
    })

    const paid = await stripe.paymentIntents.retrieve(
      intent,
      { expand: ['latest_charge'] },
      { stripeAccount: account },
    )
    expect(paid).toMatchObject({ status: 'succeeded', amount: 450, application_fee_amount: 30 })
    const charge = paid.latest_charge as Stripe.Charge
    expect(charge).toMatchObject({
      status: 'succeeded',
      amount: 450,
      amount_refunded: 0,
      application_fee_amount: 30,
      payment_intent: intent,
    })
    const fee = await stripe.applicationFees.retrieve(String(charge.application_fee))
    expect(fee).toMatchObject({ account, amount: 30, charge: charge.id })

    // The session and its payment are the connected account's: the platform does not see them.
    const fromPlatform = await refusal(stripe.checkout.sessions.retrieve(session.id))
    expect(fromPlatform).toMatchObject({ statusCode: 404, code: 'resource_missing' })
    expect(
      (await stripe.checkout.sessions.retrieve(session.id, {}, { stripeAccount: account })).id,
    ).toBe(session.id)
  })

  it('refuses a fee with no connected account, and a charge the account cannot take yet', async () => {
    const params = {
      mode: 'payment' as const,
      line_items: [
        {
          quantity: 1,
          price_data: { currency: 'eur', unit_amount: 450, product_data: { name: 'x' } },
        },
      ],
      payment_intent_data: { application_fee_amount: 30 },
      success_url: 'https://qr.test/done',
      cancel_url: 'https://qr.test/cancel',
      expires_at: Math.floor(Date.now() / 1000) + 3600,
    }
    const platform = await refusal(
      stripe.checkout.sessions.create(params, { idempotencyKey: crypto.randomUUID() }),
    )
    expect(platform).toMatchObject({
      statusCode: 400,
      param: 'payment_intent_data[application_fee_amount]',
    })
    const onboarding = await stripe.accounts.create({ type: 'express' })
    const early = await refusal(
      stripe.checkout.sessions.create(params, {
        idempotencyKey: crypto.randomUUID(),
        stripeAccount: onboarding.id,
      }),
    )
    expect(early.statusCode).toBe(400)
  })
  it('records a destination charge: paid on the platform, its fee taken, the rest transferred', async () => {
    const account = await readyAccount()
    const session = await stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [
          {
            quantity: 1,
            price_data: { currency: 'eur', unit_amount: 450, product_data: { name: 'x' } },
          },
        ],
        payment_intent_data: {
          application_fee_amount: 30,
          transfer_data: { destination: account },
        },
        success_url: 'https://qr.test/done',
        cancel_url: 'https://qr.test/cancel',
        expires_at: Math.floor(Date.now() / 1000) + 3600,
      },
      { idempotencyKey: crypto.randomUUID() },
    )
    const { payment_intent } = await control<{ payment_intent: string }>(
      `sessions/${session.id}/complete`,
      {},
    )
    const intent = await stripe.paymentIntents.retrieve(payment_intent, {
      expand: ['latest_charge'],
    })
    expect(intent.latest_charge).toMatchObject({
      application_fee_amount: 30,
      transfer_data: { destination: account },
    })
    const fee = await stripe.applicationFees.retrieve(
      String((intent.latest_charge as Stripe.Charge).application_fee),
    )
    expect(fee).toMatchObject({ account, amount: 30 })
  })
})

describe('refunds', () => {
  it('refunds part, then the rest, and refuses anything beyond what remains', async () => {
    const account = await readyAccount()
    const { intent } = await paidOn(account)
    const options = { stripeAccount: account }
    const first = await stripe.refunds.create(
      {
        payment_intent: intent,
        amount: 200,
        reason: 'requested_by_customer',
        metadata: { refund_id: 'rf_1' },
      },
      { ...options, idempotencyKey: 'rf_1' },
    )
    expect(first).toMatchObject({
      object: 'refund',
      amount: 200,
      currency: 'eur',
      status: 'succeeded',
      payment_intent: intent,
      reason: 'requested_by_customer',
      metadata: { refund_id: 'rf_1' },
    })
    expect(first.id).toMatch(/^re_/)

    const beyond = await refusal(
      stripe.refunds.create({ payment_intent: intent, amount: 251 }, options),
    )
    expect(beyond).toMatchObject({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'amount_too_large',
      param: 'amount',
    })
    expect(beyond.message).toContain('(€2.50)')

    const rest = await stripe.refunds.create({ payment_intent: intent }, options)
    expect(rest).toMatchObject({ amount: 250, status: 'succeeded', charge: first.charge })

    const charge = await stripe.charges.retrieve(String(first.charge), {}, options)
    expect(charge).toMatchObject({ amount_refunded: 450, refunded: true })
    // Not shown unless expanded, as in Stripe since API version 2022-11-15.
    expect(charge.refunds).toBeUndefined()
    const expanded = await stripe.charges.retrieve(
      String(first.charge),
      { expand: ['refunds'] },
      options,
    )
    expect(expanded.refunds?.data.map((r) => r.id)).toEqual([rest.id, first.id])

    const again = await refusal(stripe.refunds.create({ payment_intent: intent }, options))
    expect(again).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' })
    expect((await stripe.refunds.retrieve(first.id, {}, options)).amount).toBe(200)
  })

  it('replays a refund for a repeated idempotency key, and refuses the key with other parameters', async () => {
    const account = await readyAccount()
    const { intent } = await paidOn(account)
    const options = { stripeAccount: account, idempotencyKey: `rf_${crypto.randomUUID()}` }
    const once = await stripe.refunds.create({ payment_intent: intent, amount: 100 }, options)
    const twice = await stripe.refunds.create({ payment_intent: intent, amount: 100 }, options)
    expect(twice.id).toBe(once.id)
    const charge = await stripe.charges.retrieve(String(once.charge), {}, options)
    expect(charge.amount_refunded).toBe(100)
    const changed = await refusal(
      stripe.refunds.create({ payment_intent: intent, amount: 150 }, options),
    )
    expect(changed).toMatchObject({ statusCode: 400, type: 'StripeIdempotencyError' })
  })

  it('refuses an unknown reason and a refund of nothing named', async () => {
    const account = await readyAccount()
    const { intent } = await paidOn(account)
    const reason = await refusal(
      stripe.refunds.create(
        { payment_intent: intent, reason: 'changed_mind' as 'duplicate' },
        { stripeAccount: account },
      ),
    )
    expect(reason).toMatchObject({ statusCode: 400, param: 'reason' })
    const nothing = await refusal(stripe.refunds.create({}, { stripeAccount: account }))
    expect(nothing).toMatchObject({ statusCode: 400, code: 'parameter_missing' })
  })

  it("keeps an account's payments and refunds invisible to another account and to the platform", async () => {
    const [mine, theirs] = [await readyAccount(), await readyAccount('standard')]
    const { intent } = await paidOn(mine)
    const refund = await stripe.refunds.create(
      { payment_intent: intent, amount: 50 },
      { stripeAccount: mine },
    )
    for (const options of [{ stripeAccount: theirs }, {}]) {
      const read = await refusal(stripe.refunds.retrieve(refund.id, {}, options))
      expect(read).toMatchObject({ statusCode: 404, code: 'resource_missing' })
      const pay = await refusal(stripe.paymentIntents.retrieve(intent, {}, options))
      expect(pay).toMatchObject({ statusCode: 404, code: 'resource_missing' })
      const create = await refusal(stripe.refunds.create({ payment_intent: intent }, options))
      expect(create).toMatchObject({
        statusCode: 404,
        code: 'resource_missing',
        param: 'payment_intent',
      })
    }
    const listed = await stripe.refunds.list({ payment_intent: intent }, { stripeAccount: theirs })
    expect(listed.data).toEqual([])
    const own = await stripe.refunds.list({ payment_intent: intent }, { stripeAccount: mine })
    expect(own.data.map((r) => r.id)).toEqual([refund.id])
    expect(await control(`objects/${refund.id}`)).toMatchObject({ owner: mine })
  })

  it('fails the next refund: answered pending, then failed, its amount back on the charge', async () => {
    const account = await readyAccount()
    const { intent } = await paidOn(account)
    const options = { stripeAccount: account }
    await control('refunds/fail-next', { failure_reason: 'expired_or_canceled_card' })
    const pending = await stripe.refunds.create({ payment_intent: intent }, options)
    expect(pending).toMatchObject({ amount: 450, status: 'pending' })
    const failed = await stripe.refunds.retrieve(pending.id, {}, options)
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' })
    const charge = await stripe.charges.retrieve(String(pending.charge), {}, options)
    expect(charge).toMatchObject({ amount_refunded: 0, refunded: false })
    expect((await stripe.refunds.create({ payment_intent: intent }, options)).status).toBe(
      'succeeded',
    )
  })
})

describe('signed event envelopes', () => {
  it('signs as the SDK does, and the SDK verifies them; another secret does not', async () => {
    const account = await stripe.accounts.create({ type: 'express' })
    const timestamp = Math.floor(Date.now() / 1000)
    const built = await control<{ payload: string; signature: string }>('events', {
      type: 'account.updated',
      object: account.id,
      secret: CONNECT_SECRET,
      timestamp,
    })
    expect(built.signature).toBe(
      await stripe.webhooks.generateTestHeaderStringAsync({
        payload: built.payload,
        secret: CONNECT_SECRET,
        timestamp,
        cryptoProvider,
      }),
    )
    const wrong = await stripe.webhooks
      .constructEventAsync(built.payload, built.signature, 'whsec_other', 300, cryptoProvider)
      .then(
        () => null,
        (err: unknown) => err,
      )
    expect(wrong).toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError)
  })

  it('builds account.updated as a Connect event, with what changed', async () => {
    const account = await stripe.accounts.create({ type: 'express' })
    await control(`accounts/${account.id}/state`, { state: 'ready' })
    const { verified } = await verifiedEvent({ type: 'account.updated', object: account.id })
    expect(verified).toMatchObject({
      object: 'event',
      type: 'account.updated',
      account: account.id,
      livemode: false,
      data: {
        object: { id: account.id, charges_enabled: true, payouts_enabled: true },
        previous_attributes: { charges_enabled: false, payouts_enabled: false },
      },
    })
    expect(verified.id).toMatch(/^evt_/)
    // Forged as if from another account (or none): the envelope says so, signed all the same.
    const forged = await verifiedEvent({
      type: 'account.updated',
      object: account.id,
      account: 'acct_someone_else',
    })
    expect(forged.verified.account).toBe('acct_someone_else')
  })

  it('builds charge.refunded, refund.updated and refund.failed from the refunds made', async () => {
    const account = await readyAccount()
    const { intent } = await paidOn(account)
    const refund = await stripe.refunds.create(
      { payment_intent: intent, amount: 200 },
      { stripeAccount: account, idempotencyKey: `rf_${crypto.randomUUID()}` },
    )
    const refunded = await verifiedEvent({ type: 'charge.refunded', object: refund.charge })
    expect(refunded.verified).toMatchObject({
      account,
      request: { id: expect.stringMatching(/^req_/), idempotency_key: expect.any(String) },
      data: {
        object: {
          object: 'charge',
          amount: 450,
          amount_refunded: 200,
          refunded: false,
          payment_intent: intent,
        },
      },
    })
    expect((refunded.event.data as Json).object).not.toHaveProperty('refunds')
    const expanded = await verifiedEvent({
      type: 'charge.refunded',
      object: refund.charge,
      expand: ['refunds'],
    })
    const charge = expanded.verified.data.object as Stripe.Charge
    expect(charge.refunds?.data.map((r) => r.id)).toEqual([refund.id])

    await control(`refunds/${refund.id}/fail`, { failure_reason: 'lost_or_stolen_card' })
    const failedRefund = {
      id: refund.id,
      status: 'failed',
      failure_reason: 'lost_or_stolen_card',
      amount: 200,
      payment_intent: intent,
    }
    // Only `*.updated` events say what changed (previous_attributes).
    const updated = await verifiedEvent({ type: 'refund.updated', object: refund.id })
    expect(updated.verified).toMatchObject({
      type: 'refund.updated',
      account,
      request: { id: null },
      data: { object: failedRefund, previous_attributes: { status: 'succeeded' } },
    })
    const failed = await verifiedEvent({ type: 'refund.failed', object: refund.id })
    expect(failed.verified).toMatchObject({ type: 'refund.failed', account })
    expect(failed.verified.data).toEqual({ object: expect.objectContaining(failedRefund) })
  })

  it('builds charge.dispute.created, updated and closed as the dispute moves, refusing refunds', async () => {
    const account = await readyAccount()
    const { intent } = await paidOn(account)
    const dispute = await control<{ id: string; charge: string }>(`charges/${intent}/dispute`, {
      reason: 'fraudulent',
    })
    const created = await verifiedEvent({ type: 'charge.dispute.created', object: dispute.id })
    expect(created.verified).toMatchObject({
      account,
      data: {
        object: {
          object: 'dispute',
          status: 'needs_response',
          amount: 450,
          currency: 'eur',
          charge: dispute.charge,
          payment_intent: intent,
          reason: 'fraudulent',
          is_charge_refundable: false,
        },
      },
    })
    const chargedBack = await refusal(
      stripe.refunds.create({ payment_intent: intent }, { stripeAccount: account }),
    )
    expect(chargedBack).toMatchObject({ statusCode: 400, code: 'charge_disputed' })

    await control(`disputes/${dispute.id}/status`, { status: 'under_review' })
    const updated = await verifiedEvent({ type: 'charge.dispute.updated', object: dispute.id })
    expect(updated.verified.data).toMatchObject({
      object: { status: 'under_review' },
      previous_attributes: { status: 'needs_response' },
    })
    for (const outcome of ['won', 'lost']) {
      await control(`disputes/${dispute.id}/status`, { status: outcome })
      const closed = await verifiedEvent({ type: 'charge.dispute.closed', object: dispute.id })
      expect(closed.verified.data.object).toMatchObject({ id: dispute.id, status: outcome })
    }
  })

  it('builds no event about an object of another kind, or none at all', async () => {
    const account = await readyAccount()
    const wrongKind = await control<{ error: Json }>('events', {
      type: 'charge.refunded',
      object: account,
      secret: CONNECT_SECRET,
    })
    expect(wrongKind.error).toMatchObject({ param: 'object' })
    const none = await control<{ error: Json }>('events', {
      type: 'refund.failed',
      object: 're_nothing',
      secret: CONNECT_SECRET,
    })
    expect(none.error).toMatchObject({ param: 'object' })
  })
})
