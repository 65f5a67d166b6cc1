/**
 * Connect through the Stripe SDK: Standard accounts, made by the platform and onboarded on
 * Stripe's hosted pages (Account Links). Why Standard and direct charges: docs/architecture.md,
 * "Two modes".
 */
import type Stripe from 'stripe'
import type { Bindings } from '../env'
import type { AccountSnapshot, AccountsProvider } from './accounts'
import { ProviderError } from './provider'
import { loadStripe } from './stripe'

export function accountSnapshotOf(account: Stripe.Account): AccountSnapshot {
  return {
    id: account.id,
    chargesEnabled: account.charges_enabled === true,
    payoutsEnabled: account.payouts_enabled === true,
    detailsSubmitted: account.details_submitted === true,
    requirementsDue: account.requirements?.currently_due ?? [],
    disabledReason: account.requirements?.disabled_reason ?? null,
  }
}

const asProviderError = (err: unknown) =>
  err instanceof ProviderError
    ? err
    : new ProviderError(`Stripe: ${err instanceof Error ? err.message : String(err)}`)

export function stripeAccounts(env: Bindings): AccountsProvider {
  return {
    name: 'stripe',
    async createAccount(merchant) {
      const { client } = await loadStripe(env)
      try {
        const account = await client.accounts.create(
          {
            type: 'standard',
            business_profile: { name: merchant.name },
            metadata: { merchant_id: merchant.id },
          },
          // Stripe keeps a key 24 hours: a retry or a second press in that time gets this account.
          { idempotencyKey: `connect-account:${merchant.id}` },
        )
        return account.id
      } catch (err) {
        throw asProviderError(err)
      }
    },
    async createLink(accountId, urls) {
      const { client } = await loadStripe(env)
      try {
        const link = await client.accountLinks.create({
          account: accountId,
          type: 'account_onboarding',
          return_url: urls.returnUrl,
          refresh_url: urls.refreshUrl,
        })
        return link.url
      } catch (err) {
        throw asProviderError(err)
      }
    },
    async getAccount(accountId) {
      const { client } = await loadStripe(env)
      try {
        return accountSnapshotOf(await client.accounts.retrieve(accountId))
      } catch (err) {
        throw asProviderError(err)
      }
    },
  }
}
