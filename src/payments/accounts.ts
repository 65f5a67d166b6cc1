/**
 * Platform mode's connected accounts (money/payment-mode.ts): connecting a merchant's Stripe
 * account through Stripe's hosted onboarding, and keeping what Stripe says of it in D1 (the
 * return page reads it from Stripe, `account.updated` events push it). Offline, the test-mode
 * accounts provider stands in, its "hosted onboarding" a page of ours (admin/payment-account.tsx).
 */
import { and, eq, isNull, lte, or } from 'drizzle-orm'
import type { Db } from '../db/client'
import { merchants } from '../db/schema'
import type { Bindings } from '../env'
import { isProduction } from '../lib/environment'
import { ProviderError } from './provider'
import { stripeAccounts } from './stripe-accounts'

/** What Stripe says of a connected account, in our words. */
export interface AccountSnapshot {
  id: string
  chargesEnabled: boolean
  payoutsEnabled: boolean
  detailsSubmitted: boolean
  /** `requirements.currently_due`: what the merchant must still provide. */
  requirementsDue: string[]
  /** `requirements.disabled_reason`: why charges or payouts are off, when Stripe says. */
  disabledReason: string | null
}

export interface AccountsProvider {
  readonly name: 'stripe' | 'test'
  /** A new connected account for the merchant; the same one again for a retry (idempotent). */
  createAccount(merchant: { id: string; name: string }): Promise<string>
  /** A fresh one-time onboarding link: Stripe sends the merchant to `returnUrl` or `refreshUrl`. */
  createLink(accountId: string, urls: { returnUrl: string; refreshUrl: string }): Promise<string>
  getAccount(accountId: string): Promise<AccountSnapshot>
}

/** Stripe when configured, else the offline test-mode accounts outside production. */
export function accountsProvider(env: Bindings, db: Db, base: string): AccountsProvider {
  if (env.STRIPE_SECRET_KEY) return stripeAccounts(env)
  if (isProduction(env)) {
    throw new ProviderError('Payments are not configured: set STRIPE_SECRET_KEY.')
  }
  return testAccounts(db, base)
}

/** The merchant's connected account and its state, as D1 has it. */
export async function findMerchantAccount(db: Db, merchantId: string) {
  const [row] = await db
    .select({
      id: merchants.id,
      name: merchants.name,
      stripeAccountId: merchants.stripeAccountId,
      stripeChargesEnabled: merchants.stripeChargesEnabled,
      stripePayoutsEnabled: merchants.stripePayoutsEnabled,
      stripeDetailsSubmitted: merchants.stripeDetailsSubmitted,
      stripeRequirementsDue: merchants.stripeRequirementsDue,
      stripeDisabledReason: merchants.stripeDisabledReason,
      stripeAccountUpdatedAt: merchants.stripeAccountUpdatedAt,
    })
    .from(merchants)
    .where(eq(merchants.id, merchantId))
  return row
}

export type MerchantAccountRow = NonNullable<Awaited<ReturnType<typeof findMerchantAccount>>>

/**
 * The merchant's connected account, made now if it has none. Two presses at once (or a retry
 * after a lost answer) get the same account: Stripe's idempotency key is the merchant's, and only
 * the first write of an id to the merchant is kept.
 */
export async function ensureAccount(
  db: Db,
  provider: AccountsProvider,
  merchant: Pick<MerchantAccountRow, 'id' | 'name' | 'stripeAccountId'>,
): Promise<string> {
  if (merchant.stripeAccountId) return merchant.stripeAccountId
  const created = await provider.createAccount(merchant)
  await db
    .update(merchants)
    .set({ stripeAccountId: created })
    .where(and(eq(merchants.id, merchant.id), isNull(merchants.stripeAccountId)))
  const stored = await findMerchantAccount(db, merchant.id)
  return stored?.stripeAccountId ?? created
}

/**
 * Stores what Stripe said of an account at `at` (epoch ms) on the merchant it belongs to, unless
 * a newer word is stored already (events can arrive out of order). Returns the merchant's id, or
 * undefined when no merchant has this account.
 */
export async function applyAccountSnapshot(
  db: Db,
  snapshot: AccountSnapshot,
  at: number,
): Promise<{ merchantId: string; applied: boolean } | undefined> {
  const [owner] = await db
    .select({ id: merchants.id })
    .from(merchants)
    .where(eq(merchants.stripeAccountId, snapshot.id))
  if (!owner) return undefined
  const changed = await db
    .update(merchants)
    .set({
      stripeChargesEnabled: snapshot.chargesEnabled,
      stripePayoutsEnabled: snapshot.payoutsEnabled,
      stripeDetailsSubmitted: snapshot.detailsSubmitted,
      stripeRequirementsDue: snapshot.requirementsDue.slice(0, 100),
      stripeDisabledReason: snapshot.disabledReason,
      stripeAccountUpdatedAt: at,
    })
    .where(
      and(
        eq(merchants.id, owner.id),
        eq(merchants.stripeAccountId, snapshot.id),
        or(isNull(merchants.stripeAccountUpdatedAt), lte(merchants.stripeAccountUpdatedAt, at)),
      ),
    )
    .returning({ id: merchants.id })
  return { merchantId: owner.id, applied: changed.length > 0 }
}

/**
 * The merchant disconnected its account from the platform (`account.application.deauthorized`):
 * the platform can no longer act for it, so the merchant has no account until it connects again
 * (a new one). Payments made on the old one keep it (`payments.stripe_account`).
 */
export async function forgetAccount(db: Db, accountId: string, at: number) {
  const changed = await db
    .update(merchants)
    .set({
      stripeAccountId: null,
      stripeChargesEnabled: false,
      stripePayoutsEnabled: false,
      stripeDetailsSubmitted: false,
      stripeRequirementsDue: [],
      stripeDisabledReason: null,
      stripeAccountUpdatedAt: at,
    })
    .where(eq(merchants.stripeAccountId, accountId))
    .returning({ id: merchants.id })
  return changed[0]?.id
}

/** Test-mode account ids: one per merchant, recognisable, never a real Stripe account's. */
export const TEST_ACCOUNT_PREFIX = 'acct_test_'

/** The simulated outcomes of test-mode onboarding, as Stripe could report them. */
export const TEST_ONBOARDING = {
  ready: {
    chargesEnabled: true,
    payoutsEnabled: true,
    detailsSubmitted: true,
    requirementsDue: [],
    disabledReason: null,
  },
  requirements_due: {
    chargesEnabled: false,
    payoutsEnabled: false,
    detailsSubmitted: true,
    requirementsDue: ['individual.verification.document', 'external_account'],
    disabledReason: 'requirements.past_due',
  },
  rejected: {
    chargesEnabled: false,
    payoutsEnabled: false,
    detailsSubmitted: true,
    requirementsDue: [],
    disabledReason: 'rejected.other',
  },
} satisfies Record<string, Omit<AccountSnapshot, 'id'>>
export type TestOnboardingOutcome = keyof typeof TEST_ONBOARDING

function testAccounts(db: Db, base: string): AccountsProvider {
  return {
    name: 'test',
    async createAccount(merchant) {
      return `${TEST_ACCOUNT_PREFIX}${merchant.id.replace(/^mer_/, '')}`
    },
    async createLink(accountId) {
      return `${base}/admin/settings/stripe/test-onboarding?account=${encodeURIComponent(accountId)}`
    },
    async getAccount(accountId) {
      // Test mode's accounts live only in D1: what the simulated onboarding last chose.
      const [row] = await db
        .select()
        .from(merchants)
        .where(eq(merchants.stripeAccountId, accountId))
      if (!row) throw new ProviderError(`No such test account: ${accountId}`)
      return {
        id: accountId,
        chargesEnabled: row.stripeChargesEnabled,
        payoutsEnabled: row.stripePayoutsEnabled,
        detailsSubmitted: row.stripeDetailsSubmitted,
        requirementsDue: row.stripeRequirementsDue,
        disabledReason: row.stripeDisabledReason,
      }
    },
  }
}
