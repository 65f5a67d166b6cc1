/**
 * Signed webhook envelopes built from the fake Stripe's own objects, for tests to post to our
 * webhook endpoints: `account.updated`, `charge.refunded`, `refund.updated`, `refund.failed`,
 * `charge.dispute.created|updated|closed`, Checkout's events, and the like. An event about an
 * object of a connected account carries `account: 'acct_…'`, as Connect webhooks do.
 */
import { createHmac } from 'node:crypto'
import { chargeView, intentView } from './stripe-money'
import { type FakeState, invalid, type Json, newId, now, type Owner } from './stripe-state'

/** The API version stripe@23 pins: events are rendered as that version shows objects. */
export const FAKE_API_VERSION = '2026-10-28.endive'

export interface EventRequest {
  type: string
  /** The id of the object the event is about (`acct_…`, `ch_…`, `re_…`, `dp_…`, `cs_…`, `pi_…`). */
  object: string
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string
  /** Overrides the envelope's `account` (null: none), e.g. to forge an event from another account. */
  account?: string | null
  previous_attributes?: Json
  id?: string
  /** The event's `created` and the signature's `t=`, in seconds (default: now). */
  created?: number
  timestamp?: number
  /** Expansions to show on the object, e.g. `['refunds']` on a charge as old API versions did. */
  expand?: string[]
}

/** Which event types carry which objects, most specific prefix first. */
const KINDS: [typePrefix: string, idPrefix: string][] = [
  ['charge.dispute.', 'dp_'],
  ['charge.refund.', 're_'],
  ['charge.', 'ch_'],
  ['refund.', 're_'],
  ['account.', 'acct_'],
  ['checkout.session.', 'cs_'],
  ['payment_intent.', 'pi_'],
  ['application_fee.', 'fee_'],
]

function objectOf(state: FakeState, type: string, id: string, expand: string[]): Json | undefined {
  const kind = KINDS.find(([prefix]) => type.startsWith(prefix))
  if (!kind) throw invalid(`The fake builds no ${type} events`, 'type')
  if (!id.startsWith(kind[1]))
    throw invalid(`A ${type} event is about a ${kind[1]}… object`, 'object')
  switch (kind[1]) {
    case 'dp_':
      return state.disputes.get(id)
    case 're_':
      return state.refunds.get(id)
    case 'ch_': {
      const charge = state.charges.get(id)
      return charge && chargeView(state, charge, expand)
    }
    case 'acct_':
      return state.accounts.get(id)
    case 'cs_':
      return state.sessions.get(id)
    case 'pi_': {
      const intent = state.paymentIntents.get(id)
      return intent && intentView(state, intent, expand)
    }
    default:
      return state.applicationFees.get(id)
  }
}

/** Stripe's signature header: `t=…,v1=` HMAC-SHA256 of `t.payload` under the endpoint secret. */
export function signature(payload: string, secret: string, timestamp: number) {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')
  return `t=${timestamp},v1=${v1}`
}

/** An event about one of the fake's objects as it is now, signed: `{ event, payload, signature }`. */
export function buildEvent(state: FakeState, input: EventRequest) {
  if (typeof input.type !== 'string' || typeof input.object !== 'string') {
    throw invalid('type and object (an object id) are required')
  }
  if (typeof input.secret !== 'string' || !input.secret)
    throw invalid('secret is required', 'secret')
  const object = objectOf(state, input.type, input.object, input.expand ?? [])
  if (!object) throw invalid(`No such object: ${input.object}`, 'object')
  const owner: Owner = input.type.startsWith('account.')
    ? input.object
    : (state.owners.get(input.object) ?? null)
  const account = 'account' in input ? (input.account ?? null) : owner
  const previous =
    input.previous_attributes ??
    (input.type.endsWith('.updated') ? state.previous.get(input.object) : undefined)
  // An event caused by an API call names it; Stripe's own later changes (a refund failing) do not.
  const cause = input.type.endsWith('.created') || input.type === 'charge.refunded'
  const event: Json = {
    id: input.id ?? newId('evt'),
    object: 'event',
    ...(account ? { account } : {}),
    api_version: FAKE_API_VERSION,
    created: input.created ?? now(),
    data: { object, ...(previous ? { previous_attributes: previous } : {}) },
    livemode: false,
    pending_webhooks: 1,
    request: (cause && state.causes.get(input.object)) || { id: null, idempotency_key: null },
    type: input.type,
  }
  const payload = JSON.stringify(event, null, 2)
  return { event, payload, signature: signature(payload, input.secret, input.timestamp ?? now()) }
}
