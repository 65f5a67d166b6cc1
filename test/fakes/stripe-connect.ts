/**
 * Connect in the fake Stripe: connected accounts (`POST /v1/accounts`, `GET /v1/accounts/{id}`,
 * `GET /v1/account`), hosted onboarding links (`POST /v1/account_links`), and the test control
 * that moves an account through onboarding (ready, requirements due, rejected) as Stripe would
 * after the merchant fills in (or fails) its forms. Shapes follow Stripe's OpenAPI fixtures.
 */
import {
  type Call,
  type FakeState,
  invalid,
  type Json,
  list,
  missing,
  newId,
  now,
  StripeApiError,
} from './stripe-state'

/** What Stripe asks of a new account before it may charge (a US company, abridged). */
const ONBOARDING_DUE = [
  'business_profile.mcc',
  'business_profile.url',
  'business_type',
  'external_account',
  'representative.first_name',
  'representative.last_name',
  'tos_acceptance.date',
  'tos_acceptance.ip',
]

const ACCOUNT_TYPES = ['express', 'standard', 'custom'] as const
type AccountType = (typeof ACCOUNT_TYPES)[number]

function requirements(due: string[], disabledReason: string | null): Json {
  return {
    alternatives: [],
    current_deadline: null,
    currently_due: due,
    disabled_reason: disabledReason,
    errors: [],
    eventually_due: due,
    past_due: disabledReason === 'requirements.past_due' ? due : [],
    pending_verification: [],
  }
}

/** The `controller` Stripe reports for each account type (fees and losses as Connect sets them). */
function controllerOf(type: AccountType): Json {
  const dashboard = { express: 'express', standard: 'full', custom: 'none' }[type]
  return {
    type: 'application',
    is_controller: true,
    fees: { payer: type === 'standard' ? 'account' : 'application' },
    losses: { payments: type === 'standard' ? 'stripe' : 'application' },
    requirement_collection: type === 'custom' ? 'application' : 'stripe',
    stripe_dashboard: { type: dashboard },
  }
}

/** The account type from `type`, or from `controller[stripe_dashboard][type]` (the newer way). */
function typeOf(params: Json): AccountType {
  if (params.type !== undefined) {
    const type = String(params.type)
    if (!(ACCOUNT_TYPES as readonly string[]).includes(type)) {
      throw invalid(`Invalid type: must be one of ${ACCOUNT_TYPES.join(', ')}`, 'type')
    }
    return type as AccountType
  }
  const dashboard = ((params.controller as Json | undefined)?.stripe_dashboard as Json | undefined)
    ?.type
  if (dashboard === 'express') return 'express'
  if (dashboard === 'full') return 'standard'
  if (dashboard === 'none') return 'custom'
  throw invalid('You must provide either `type` or `controller` to create an account.', 'type')
}

const CURRENCY_OF_COUNTRY: Record<string, string> = {
  US: 'usd',
  GB: 'gbp',
  JP: 'jpy',
  CH: 'chf',
  CA: 'cad',
  AU: 'aud',
}
const EURO_COUNTRIES = new Set(['AT', 'BE', 'DE', 'ES', 'FI', 'FR', 'IE', 'IT', 'NL', 'PT'])

export function createAccount({ state, params, account }: Call): Json {
  if (account) {
    throw new StripeApiError(403, 'Connected accounts cannot create other accounts.', {
      type: 'invalid_request_error',
    })
  }
  const type = typeOf(params)
  const country = String(params.country ?? 'US').toUpperCase()
  const id = newId('acct')
  const requested = Object.keys((params.capabilities as Json | undefined) ?? {})
  const capabilities = Object.fromEntries(
    (requested.length ? requested : ['card_payments', 'transfers']).map((c) => [c, 'inactive']),
  )
  const created: Json = {
    id,
    object: 'account',
    business_profile: {
      mcc: null,
      name: null,
      product_description: null,
      support_address: null,
      support_email: null,
      support_phone: null,
      support_url: null,
      url: null,
      ...((params.business_profile as Json | undefined) ?? {}),
    },
    business_type: params.business_type ?? null,
    capabilities,
    charges_enabled: false,
    controller: controllerOf(type),
    country,
    created: now(),
    default_currency: CURRENCY_OF_COUNTRY[country] ?? (EURO_COUNTRIES.has(country) ? 'eur' : 'usd'),
    details_submitted: false,
    email: params.email ?? null,
    external_accounts: list(`/v1/accounts/${id}/external_accounts`),
    future_requirements: requirements([], null),
    metadata: params.metadata ?? {},
    payouts_enabled: false,
    requirements: requirements(ONBOARDING_DUE, 'requirements.past_due'),
    settings: {
      dashboard: { display_name: null, timezone: 'Etc/UTC' },
      payments: { statement_descriptor: null },
      payouts: {
        debit_negative_balances: true,
        schedule: { delay_days: 2, interval: 'daily' },
        statement_descriptor: null,
      },
    },
    tos_acceptance: { date: null, ip: null, user_agent: null },
    type,
  }
  state.accounts.set(id, created)
  state.owners.set(id, null)
  return created
}

/**
 * `GET /v1/accounts/{id}`: the platform sees its connected accounts; a connected account (the
 * `Stripe-Account` header) sees only itself.
 */
export function retrieveAccount({ state, account }: Call, id: string): Json {
  const found = state.accounts.get(id)
  if (!found || (account !== null && account !== id)) throw missing('account', id, 'account')
  return found
}

/** The platform itself, for `GET /v1/account` without a `Stripe-Account` header. */
const PLATFORM: Json = {
  id: 'acct_fakeplatform0000',
  object: 'account',
  business_profile: { name: 'Fake platform' },
  charges_enabled: true,
  country: 'US',
  default_currency: 'usd',
  details_submitted: true,
  payouts_enabled: true,
  type: 'standard',
}

export function currentAccount(call: Call): Json {
  return call.account ? retrieveAccount(call, call.account) : PLATFORM
}

export function createAccountLink({ state, params, account }: Call): Json {
  if (account) throw invalid('Account links must be created by the platform.', 'account')
  const accountId = String(params.account ?? '')
  if (!accountId) throw invalid('Missing required param: account.', 'account', 'parameter_missing')
  const connected = state.accounts.get(accountId)
  if (!connected) throw missing('account', accountId, 'account')
  const type = String(params.type ?? '')
  if (type !== 'account_onboarding' && type !== 'account_update') {
    throw invalid('Invalid type: must be one of account_onboarding or account_update', 'type')
  }
  if (type === 'account_update' && connected.type === 'standard') {
    throw invalid('You cannot create `account_update` type Account Links for Standard accounts.')
  }
  for (const field of ['refresh_url', 'return_url']) {
    if (params[field] === undefined) {
      throw invalid(`Missing required param: ${field}.`, field, 'parameter_missing')
    }
    try {
      new URL(String(params[field]))
    } catch {
      throw invalid('Not a valid URL', field, 'url_invalid')
    }
  }
  const created = now()
  const kind = connected.type === 'standard' ? 's' : 'e'
  return {
    object: 'account_link',
    created,
    // Stripe's links expire a few minutes after they are made, and can be opened once.
    expires_at: created + 300,
    url: `https://connect.stripe.com/setup/${kind}/${accountId}/${newId('link').slice(5)}`,
  }
}

export type AccountStateName = 'ready' | 'requirements_due' | 'rejected' | 'onboarding'

/**
 * Moves an account to a state Stripe could report after onboarding, remembering what changed
 * as the `previous_attributes` of the next `account.updated` event built for it.
 */
export function setAccountState(
  state: FakeState,
  id: string,
  input: { state?: string; disabled_reason?: string; currently_due?: string[] },
): Json {
  const found = state.accounts.get(id)
  if (!found) throw missing('account', id, 'account')
  const active = (value: string) =>
    Object.fromEntries(Object.keys(found.capabilities as Json).map((c) => [c, value]))
  const next: Record<AccountStateName, Json> = {
    ready: {
      capabilities: active('active'),
      charges_enabled: true,
      payouts_enabled: true,
      details_submitted: true,
      requirements: requirements([], null),
    },
    requirements_due: {
      capabilities: active('inactive'),
      charges_enabled: false,
      payouts_enabled: false,
      details_submitted: true,
      requirements: requirements(
        input.currently_due ?? ['individual.verification.document', 'external_account'],
        input.disabled_reason ?? 'requirements.past_due',
      ),
    },
    rejected: {
      capabilities: active('inactive'),
      charges_enabled: false,
      payouts_enabled: false,
      details_submitted: true,
      requirements: requirements([], input.disabled_reason ?? 'rejected.fraud'),
    },
    onboarding: {
      capabilities: active('inactive'),
      charges_enabled: false,
      payouts_enabled: false,
      details_submitted: false,
      requirements: requirements(ONBOARDING_DUE, 'requirements.past_due'),
    },
  }
  const change = next[input.state as AccountStateName]
  if (!change) throw invalid(`state must be one of ${Object.keys(next).join(', ')}`, 'state')
  const previous = Object.fromEntries(
    Object.keys(change)
      .filter((key) => JSON.stringify(found[key]) !== JSON.stringify(change[key]))
      .map((key) => [key, found[key]]),
  )
  Object.assign(found, change)
  state.previous.set(id, previous)
  return found
}
