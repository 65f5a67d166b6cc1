/**
 * Money after Checkout in the fake Stripe: the payment intent, charge and application fee a
 * completed session leaves behind, refunds (`POST /v1/refunds`, `GET /v1/refunds[/{id}]`) and
 * disputes. Each object belongs to the account its session was created for, and is only visible
 * from there. Shapes and refusals follow Stripe's OpenAPI fixtures and its documented errors.
 */
import {
  type Call,
  type ChargeTerms,
  type FakeState,
  integerParam,
  invalid,
  type Json,
  list,
  missing,
  money,
  newId,
  now,
  type Owner,
  visible,
} from './stripe-state'

const NO_TERMS: ChargeTerms = {
  applicationFeeAmount: null,
  destination: null,
  metadata: {},
  description: null,
}

/**
 * The customer finished Checkout: the session gets its payment intent, and the intent its charge
 * (succeeded for cards, pending for delayed methods such as SEPA), plus the platform's
 * application fee when the session asked for one.
 */
export function completeSession(
  state: FakeState,
  session: Json,
  paymentStatus: string,
  email: string,
) {
  const owner = state.owners.get(session.id as string) ?? null
  const terms = state.sessionTerms.get(session.id as string) ?? NO_TERMS
  const paid = paymentStatus === 'paid'
  const amount = Number(session.amount_total)
  const currency = String(session.currency)
  const intentId = newId('pi')
  const chargeId = newId('ch')
  const created = now()

  let feeId: string | null = null
  if (terms.applicationFeeAmount !== null && paid) {
    feeId = newId('fee')
    state.applicationFees.set(feeId, {
      id: feeId,
      object: 'application_fee',
      account: owner ?? terms.destination,
      amount: terms.applicationFeeAmount,
      amount_refunded: 0,
      application: 'ca_fakeplatform',
      balance_transaction: newId('txn'),
      charge: chargeId,
      created,
      currency,
      fee_source: { charge: chargeId, type: 'charge' },
      livemode: false,
      originating_transaction: null,
      refunded: false,
      refunds: list(`/v1/application_fees/${feeId}/refunds`),
    })
    // Application fees are the platform's, whoever the charge belongs to.
    state.owners.set(feeId, null)
  }
  const paymentMethod = newId('pm')
  state.charges.set(chargeId, {
    id: chargeId,
    object: 'charge',
    amount,
    amount_captured: paid ? amount : 0,
    amount_refunded: 0,
    application: owner || terms.destination ? 'ca_fakeplatform' : null,
    application_fee: feeId,
    application_fee_amount: terms.applicationFeeAmount,
    balance_transaction: paid ? newId('txn') : null,
    billing_details: { address: null, email, name: null, phone: null },
    captured: paid,
    created,
    currency,
    customer: null,
    description: terms.description,
    disputed: false,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: terms.metadata,
    on_behalf_of: null,
    outcome: {
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      seller_message: 'Payment complete.',
      type: 'authorized',
    },
    paid,
    payment_intent: intentId,
    payment_method: paymentMethod,
    payment_method_details: {
      card: {
        brand: 'visa',
        country: 'US',
        exp_month: 12,
        exp_year: new Date().getUTCFullYear() + 3,
        funding: 'credit',
        last4: '4242',
        network: 'visa',
      },
      type: 'card',
    },
    receipt_email: email,
    receipt_url: `https://pay.stripe.com/receipts/payment/${chargeId}`,
    refunded: false,
    review: null,
    status: paid ? 'succeeded' : 'pending',
    transfer_data: terms.destination ? { amount: null, destination: terms.destination } : null,
    transfer_group: null,
  })
  state.chargeRefunds.set(chargeId, [])
  state.paymentIntents.set(intentId, {
    id: intentId,
    object: 'payment_intent',
    amount,
    amount_capturable: 0,
    amount_received: paid ? amount : 0,
    application_fee_amount: terms.applicationFeeAmount,
    created,
    currency,
    description: terms.description,
    latest_charge: chargeId,
    livemode: false,
    metadata: terms.metadata,
    on_behalf_of: null,
    payment_method: paymentMethod,
    status: paid ? 'succeeded' : 'processing',
    transfer_data: terms.destination ? { destination: terms.destination } : null,
  })
  state.owners.set(chargeId, owner)
  state.owners.set(intentId, owner)
  session.payment_intent = intentId
}

/** A delayed payment (SEPA…) that the bank refused: the intent needs a new payment method. */
export function failIntent(state: FakeState, session: Json) {
  const intent = state.paymentIntents.get(String(session.payment_intent))
  if (!intent) return
  intent.status = 'requires_payment_method'
  const charge = state.charges.get(String(intent.latest_charge))
  if (charge) {
    Object.assign(charge, {
      status: 'failed',
      paid: false,
      failure_code: 'insufficient_funds',
      failure_message: 'The account has insufficient funds to cover this payment.',
    })
  }
}

/**
 * A charge as the API shows it. Since API version 2022-11-15 `refunds` is not included unless
 * expanded (`expand[]=refunds`), and events cannot expand: a webhook handler must not rely on it.
 */
export function chargeView(state: FakeState, charge: Json, expand: string[] = []): Json {
  if (!expand.includes('refunds')) return { ...charge }
  const refunds = (state.chargeRefunds.get(charge.id as string) ?? []).map(
    (id) => state.refunds.get(id) as Json,
  )
  return { ...charge, refunds: list(`/v1/charges/${charge.id}/refunds`, refunds) }
}

/** A payment intent, with `latest_charge` expanded when asked (as Checkout's return page does). */
export function intentView(state: FakeState, intent: Json, expand: string[] = []): Json {
  if (!expand.includes('latest_charge')) return { ...intent }
  const charge = state.charges.get(String(intent.latest_charge))
  return { ...intent, latest_charge: charge ? chargeView(state, charge) : null }
}

export function retrieveCharge({ state, account }: Call, id: string, expand: string[]): Json {
  return chargeView(state, visible(state, state.charges, id, account, 'charge'), expand)
}

export function retrieveIntent({ state, account }: Call, id: string, expand: string[]): Json {
  const intent = visible(state, state.paymentIntents, id, account, 'payment_intent', 'intent')
  return intentView(state, intent, expand)
}

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer']

/** The charge a refund is for, named by `payment_intent` or `charge`, as the caller sees it. */
function chargeToRefund({ state, params, account }: Call): Json {
  const intentId = params.payment_intent === undefined ? null : String(params.payment_intent)
  const chargeId = params.charge === undefined ? null : String(params.charge)
  if (!intentId && !chargeId) {
    throw invalid(
      'One of the following params should be provided for this request: payment_intent or charge.',
      undefined,
      'parameter_missing',
    )
  }
  let charge = chargeId
    ? visible(state, state.charges, chargeId, account, 'charge', 'charge')
    : undefined
  if (intentId) {
    const intent = visible(
      state,
      state.paymentIntents,
      intentId,
      account,
      'payment_intent',
      'payment_intent',
    )
    const latest = state.charges.get(String(intent.latest_charge))
    if (charge && latest !== charge) {
      throw invalid(`Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`, 'charge')
    }
    charge = latest
    if (charge?.status !== 'succeeded') {
      throw invalid(
        `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
        'payment_intent',
      )
    }
  }
  if (charge?.status !== 'succeeded') {
    throw invalid(`Charge ${chargeId} has not succeeded and cannot be refunded.`, 'charge')
  }
  return charge
}

/** Whether a dispute on the charge forbids refunds: a chargeback does, an inquiry does not. */
function chargedBack(state: FakeState, chargeId: string) {
  for (const dispute of state.disputes.values()) {
    if (dispute.charge === chargeId && !String(dispute.status).startsWith('warning_')) return true
  }
  return false
}

/**
 * `POST /v1/refunds`: never more than what remains of the charge (`amount_too_large`), nothing
 * on a fully refunded one (`charge_already_refunded`), nothing on a charged-back one. A refund
 * counts against the charge while pending or succeeded; a failed one gives its amount back.
 */
export function createRefund(call: Call): Json {
  const { state, params, account } = call
  const charge = chargeToRefund(call)
  const chargeId = charge.id as string
  const currency = String(charge.currency)
  if (chargedBack(state, chargeId)) {
    throw invalid(
      `Charge ${chargeId} has been charged back; cannot issue a refund.`,
      undefined,
      'charge_disputed',
    )
  }
  const remaining = Number(charge.amount) - Number(charge.amount_refunded)
  if (remaining <= 0) {
    throw invalid(
      `Charge ${chargeId} has already been refunded.`,
      undefined,
      'charge_already_refunded',
    )
  }
  const amount = integerParam(params, 'amount') ?? remaining
  if (amount < 1) throw invalid('Invalid positive integer', 'amount', 'parameter_invalid_integer')
  if (amount > remaining) {
    throw invalid(
      `Refund amount (${money(amount, currency)}) is greater than unrefunded amount on charge (${money(remaining, currency)})`,
      'amount',
      'amount_too_large',
    )
  }
  if (params.reason !== undefined && !REFUND_REASONS.includes(String(params.reason))) {
    throw invalid(
      'Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer',
      'reason',
    )
  }
  const failing = state.failNextRefund
  state.failNextRefund = null
  const id = newId('re')
  const refund: Json = {
    id,
    object: 'refund',
    amount,
    balance_transaction: newId('txn'),
    charge: chargeId,
    created: now(),
    currency,
    destination_details: {
      card: {
        reference: null,
        reference_status: 'pending',
        reference_type: 'acquirer_reference_number',
        type: 'refund',
      },
      type: 'card',
    },
    metadata: params.metadata ?? {},
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason: params.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: failing ? 'pending' : 'succeeded',
    transfer_reversal: null,
  }
  state.refunds.set(id, refund)
  state.owners.set(id, account)
  const cause = { id: call.requestId, idempotency_key: call.idempotencyKey }
  state.causes.set(id, cause)
  state.causes.set(chargeId, cause)
  state.chargeRefunds.get(chargeId)?.unshift(id)
  moveRefunded(charge, amount)
  if (params.refund_application_fee === 'true') refundFee(state, charge, amount)
  const answer = { ...refund }
  // Stripe answers `pending` and fails the refund afterwards (refund.failed, charge.refund.updated).
  if (failing) failRefund(state, id, failing.failure_reason)
  return answer
}

function moveRefunded(charge: Json, by: number) {
  charge.amount_refunded = Number(charge.amount_refunded) + by
  charge.refunded = charge.amount_refunded === charge.amount
}

/** Refunds the platform's fee in proportion to the refund (`refund_application_fee=true`). */
function refundFee(state: FakeState, charge: Json, amount: number) {
  const fee = charge.application_fee
    ? state.applicationFees.get(String(charge.application_fee))
    : null
  if (!fee) return
  const share = Math.round((Number(fee.amount) * amount) / Number(charge.amount))
  fee.amount_refunded = Math.min(Number(fee.amount), Number(fee.amount_refunded) + share)
  fee.refunded = fee.amount_refunded === fee.amount
}

/** A refund that failed (card closed…): its amount is no longer refunded on the charge. */
export function failRefund(state: FakeState, id: string, reason = 'expired_or_canceled_card') {
  const refund = state.refunds.get(id)
  if (!refund) throw missing('refund', id)
  if (refund.status === 'failed' || refund.status === 'canceled') {
    throw invalid(
      `Refund ${id} has already ${refund.status === 'failed' ? 'failed' : 'been canceled'}.`,
    )
  }
  state.previous.set(id, { status: refund.status })
  Object.assign(refund, {
    status: 'failed',
    failure_reason: reason,
    failure_balance_transaction: newId('txn'),
  })
  const charge = state.charges.get(String(refund.charge))
  if (charge) moveRefunded(charge, -Number(refund.amount))
  return refund
}

export function retrieveRefund({ state, account }: Call, id: string): Json {
  return visible(state, state.refunds, id, account, 'refund')
}

/** `GET /v1/refunds`, newest first, optionally of one `charge` or `payment_intent`. */
export function listRefunds({ state, params, account }: Call): Json {
  const data = [...state.refunds.values()]
    .filter((r) => (state.owners.get(r.id as string) ?? null) === account)
    .filter((r) => params.charge === undefined || r.charge === params.charge)
    .filter(
      (r) => params.payment_intent === undefined || r.payment_intent === params.payment_intent,
    )
    .reverse()
  const limit = Math.min(integerParam(params, 'limit') ?? 10, 100)
  return { ...list('/v1/refunds', data.slice(0, limit)), has_more: data.length > limit }
}

export const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
]

/**
 * The cardholder's bank disputes a charge (named by its `ch_…` or its payment intent's `pi_…`).
 * A chargeback takes the amount and a fee from the balance at once; an inquiry (`warning_…`) not.
 */
export function openDispute(
  state: FakeState,
  ref: string,
  input: { amount?: number; reason?: string; status?: string },
): Json {
  const chargeId = ref.startsWith('pi_') ? state.paymentIntents.get(ref)?.latest_charge : ref
  const charge = state.charges.get(String(chargeId))
  if (!charge) throw missing('charge', ref, 'charge')
  const status = input.status ?? 'needs_response'
  if (!DISPUTE_STATUSES.includes(status))
    throw invalid(`Invalid dispute status: ${status}`, 'status')
  const amount = input.amount ?? Number(charge.amount)
  const currency = String(charge.currency)
  const id = newId('dp')
  const inquiry = status.startsWith('warning_')
  const dispute: Json = {
    id,
    object: 'dispute',
    amount,
    balance_transactions: inquiry ? [] : [disputeMovement(-amount, currency, 1500)],
    charge: charge.id,
    created: now(),
    currency,
    enhanced_eligibility_types: [],
    evidence: {
      customer_email_address: null,
      customer_name: null,
      product_description: null,
      receipt: null,
      uncategorized_text: null,
    },
    evidence_details: {
      due_by: now() + 7 * 24 * 3600,
      has_evidence: false,
      past_due: false,
      submission_count: 0,
    },
    is_charge_refundable: inquiry,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    payment_method_details: {
      card: {
        brand: 'visa',
        case_type: inquiry ? 'inquiry' : 'chargeback',
        network_reason_code: '10.4',
      },
      type: 'card',
    },
    reason: input.reason ?? 'fraudulent',
    status,
  }
  state.disputes.set(id, dispute)
  state.owners.set(id, state.owners.get(charge.id as string) ?? null)
  charge.disputed = true
  return dispute
}

function disputeMovement(amount: number, currency: string, fee: number): Json {
  return {
    id: newId('txn'),
    object: 'balance_transaction',
    amount,
    currency,
    fee,
    net: amount - fee,
    reporting_category: 'dispute',
    status: 'available',
    type: 'adjustment',
  }
}

/** The dispute moves on (evidence sent, bank decided); a won chargeback returns its amount. */
export function setDisputeStatus(state: FakeState, id: string, status: string): Json {
  const dispute = state.disputes.get(id)
  if (!dispute) throw missing('dispute', id)
  if (!DISPUTE_STATUSES.includes(status))
    throw invalid(`Invalid dispute status: ${status}`, 'status')
  state.previous.set(id, { status: dispute.status })
  dispute.status = status
  if (status === 'won' && (dispute.balance_transactions as Json[]).length === 1) {
    ;(dispute.balance_transactions as Json[]).push(
      disputeMovement(Number(dispute.amount), String(dispute.currency), 0),
    )
  }
  if (status === 'lost' || status === 'won') dispute.is_charge_refundable = false
  return dispute
}

export function retrieveDispute({ state, account }: Call, id: string): Json {
  return visible(state, state.disputes, id, account, 'dispute')
}

export function retrieveApplicationFee({ state, account }: Call, id: string): Json {
  return visible(state, state.applicationFees, id, account, 'application_fee')
}

/**
 * Checks the Connect terms of a new Checkout Session and returns what its charge will carry:
 * `payment_intent_data[application_fee_amount]` needs a direct charge (the `Stripe-Account`
 * header) or a destination charge (`payment_intent_data[transfer_data][destination]`), as in
 * Stripe, and an account that cannot take charges yet is refused.
 */
export function chargeTerms(state: FakeState, params: Json, account: Owner, amount: number) {
  const data = (params.payment_intent_data as Json | undefined) ?? {}
  const fee = integerParam(
    data,
    'application_fee_amount',
    'payment_intent_data[application_fee_amount]',
  )
  const destination = (data.transfer_data as Json | undefined)?.destination
  if (destination !== undefined) {
    if (account) {
      throw invalid(
        'transfer_data cannot be used when making a request on behalf of a connected account.',
        'payment_intent_data[transfer_data][destination]',
      )
    }
    const target = state.accounts.get(String(destination))
    if (!target) {
      throw missing(
        'account',
        String(destination),
        'payment_intent_data[transfer_data][destination]',
      )
    }
    if ((target.capabilities as Json).transfers !== 'active') {
      throw invalid(
        'Your destination account needs to have at least one of the following capabilities enabled: transfers, legacy_payments',
        'payment_intent_data[transfer_data][destination]',
      )
    }
  }
  if (fee !== undefined) {
    if (!account && destination === undefined) {
      throw invalid(
        'Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).',
        'payment_intent_data[application_fee_amount]',
      )
    }
    if (fee > amount) {
      throw invalid(
        'The application fee amount cannot be greater than the amount.',
        'payment_intent_data[application_fee_amount]',
      )
    }
  }
  if (account && !state.accounts.get(account)?.charges_enabled) {
    // Stripe refuses charges on an account whose card_payments capability is not active.
    throw invalid(`The account ${account} cannot currently make charges.`)
  }
  const terms: ChargeTerms = {
    applicationFeeAmount: fee ?? null,
    destination: destination === undefined ? null : String(destination),
    metadata: (data.metadata as Json | undefined) ?? {},
    description: data.description === undefined ? null : String(data.description),
  }
  return terms
}
