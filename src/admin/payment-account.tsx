/**
 * Settings → Payments, in platform mode: the merchant's connected Stripe account and its state,
 * "Connect with Stripe" (POST: the account, made once per merchant, then a fresh onboarding link,
 * 303 to Stripe), and the two pages Stripe sends the merchant back to: `return` (re-reads the
 * account from Stripe and shows where it stands, finished or abandoned) and `refresh` (the link
 * expired or was used: a new one). Offline, a simulated onboarding page stands in for Stripe's.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../env'
import { log } from '../lib/log'
import { publicBase } from '../lib/urls'
import { paymentMode } from '../money/payment-mode'
import {
  accountsProvider,
  applyAccountSnapshot,
  ensureAccount,
  findMerchantAccount,
  TEST_ONBOARDING,
  type TestOnboardingOutcome,
} from '../payments/accounts'
import { isTestMode } from '../payments/mode'
import { ProviderError } from '../payments/provider'
import { readForm } from './forms'
import { AdminLayout } from './layout'
import { settingsPage } from './settings'

const NOT_PLATFORM =
  'This deployment takes payments into its own Stripe account: there is no account to connect.'
const UNREACHABLE = 'Stripe could not be reached just now. Nothing changed; try again in a minute.'

/** Where Stripe's onboarding sends the merchant back to, on our public origin. */
const onboardingUrls = (c: Context<AppEnv>) => {
  const base = publicBase(c.env, c.req.url)
  return {
    returnUrl: `${base}/admin/settings/stripe/return`,
    refreshUrl: `${base}/admin/settings/stripe/refresh`,
  }
}

/** The provider, or why there is none (not platform mode; no Stripe key in production). */
function providerFor(c: Context<AppEnv>) {
  if (paymentMode(c.env) !== 'platform') return { refused: NOT_PLATFORM, status: 409 as const }
  try {
    return {
      provider: accountsProvider(c.env, c.var.db, publicBase(c.env, c.req.url)),
    }
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err
    return { refused: 'Payments are not configured on this deployment.', status: 503 as const }
  }
}

/** "Connect with Stripe" (and "Continue onboarding"): the account, once, then a fresh link. */
export async function connectStripe(c: Context<AppEnv>) {
  const chosen = providerFor(c)
  if (!chosen.provider)
    return settingsPage(c, { account: { error: chosen.refused } }, chosen.status)
  const merchant = await findMerchantAccount(c.var.db, c.var.admin.merchantId)
  if (!merchant) return c.redirect('/admin/login', 303)
  try {
    const accountId = await ensureAccount(c.var.db, chosen.provider, merchant)
    return c.redirect(await chosen.provider.createLink(accountId, onboardingUrls(c)), 303)
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err
    log.warn('stripe onboarding not started', { merchantId: merchant.id }, err)
    return settingsPage(c, { account: { error: UNREACHABLE } }, 502)
  }
}

/** Stripe's `refresh_url`: the link expired or was opened already. A new one, at once. */
export async function refreshStripeLink(c: Context<AppEnv>) {
  const chosen = providerFor(c)
  if (!chosen.provider)
    return settingsPage(c, { account: { error: chosen.refused } }, chosen.status)
  const merchant = await findMerchantAccount(c.var.db, c.var.admin.merchantId)
  if (!merchant?.stripeAccountId) {
    return settingsPage(c, { account: { error: 'Connect with Stripe first.' } }, 409)
  }
  try {
    return c.redirect(
      await chosen.provider.createLink(merchant.stripeAccountId, onboardingUrls(c)),
      303,
    )
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err
    log.warn('stripe onboarding link not renewed', { merchantId: merchant.id }, err)
    return settingsPage(
      c,
      { account: { error: `Your onboarding link expired and ${UNREACHABLE.toLowerCase()}` } },
      502,
    )
  }
}

/**
 * Stripe's `return_url`: the merchant left onboarding, finished or not (Stripe sends them here
 * either way). The account is read from Stripe now and stored, and Settings says where it stands.
 */
export async function returnFromStripe(c: Context<AppEnv>) {
  const chosen = providerFor(c)
  if (!chosen.provider)
    return settingsPage(c, { account: { error: chosen.refused } }, chosen.status)
  const merchant = await findMerchantAccount(c.var.db, c.var.admin.merchantId)
  if (!merchant?.stripeAccountId) {
    return settingsPage(c, { account: { error: 'Connect with Stripe first.' } }, 409)
  }
  let notice: string
  try {
    const snapshot = await chosen.provider.getAccount(merchant.stripeAccountId)
    await applyAccountSnapshot(c.var.db, snapshot, Date.now())
    notice = snapshot.chargesEnabled
      ? 'Your Stripe account is connected and can take payments.'
      : !snapshot.detailsSubmitted
        ? "Onboarding isn't finished: continue with Stripe when you are ready."
        : snapshot.disabledReason?.startsWith('rejected.')
          ? "Stripe has rejected this account: your codes can't take payments. Contact Stripe's support."
          : 'Stripe needs more before your codes can take payments: continue with Stripe.'
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err
    log.warn('stripe account not read on return', { merchantId: merchant.id }, err)
    return settingsPage(
      c,
      { account: { error: `${UNREACHABLE} The state below is the last Stripe told us.` } },
      502,
    )
  }
  return settingsPage(c, { account: { notice } })
}

/** Test mode's stand-in for Stripe's hosted onboarding: choose what Stripe would decide. */
export async function showTestOnboarding(c: Context<AppEnv>) {
  const merchant = await testOnboardingMerchant(c)
  if (merchant instanceof Response) return merchant
  return c.html(
    <AdminLayout title="TEST MODE: Stripe onboarding" section="settings" testMode>
      <h1>TEST MODE: simulated Stripe onboarding</h1>
      <section class="card">
        <p>
          This stands in for Stripe's hosted onboarding of <code>{merchant.stripeAccountId}</code>:
          no Stripe account exists. Choose what Stripe would decide.
        </p>
        <form method="post" action="/admin/settings/stripe/test-onboarding">
          <p>
            <button type="submit" name="outcome" value="ready">
              Ready: charges and payouts enabled
            </button>
          </p>
          <p>
            <button type="submit" name="outcome" value="requirements_due" class="secondary">
              Requirements due: Stripe needs more
            </button>
          </p>
          <p>
            <button type="submit" name="outcome" value="rejected" class="danger">
              Rejected
            </button>
          </p>
        </form>
        <p>
          <a href="/admin/settings/stripe/return">Leave without finishing</a>
        </p>
      </section>
    </AdminLayout>,
  )
}

export async function chooseTestOnboarding(c: Context<AppEnv>) {
  const merchant = await testOnboardingMerchant(c)
  if (merchant instanceof Response) return merchant
  const outcome = (await readForm(c.req)).outcome ?? ''
  if (!Object.hasOwn(TEST_ONBOARDING, outcome)) {
    return settingsPage(
      c,
      { account: { error: 'Choose ready, requirements due or rejected.' } },
      400,
    )
  }
  const state = TEST_ONBOARDING[outcome as TestOnboardingOutcome]
  await applyAccountSnapshot(
    c.var.db,
    { id: merchant.stripeAccountId, ...state, requirementsDue: [...state.requirementsDue] },
    Date.now(),
  )
  return c.redirect('/admin/settings/stripe/return', 303)
}

/** The merchant whose test onboarding this is; a page when there is none to simulate. */
async function testOnboardingMerchant(c: Context<AppEnv>) {
  if (!isTestMode(c.env) || paymentMode(c.env) !== 'platform') {
    return settingsPage(c, { account: { error: 'There is no test onboarding here.' } }, 404)
  }
  const merchant = await findMerchantAccount(c.var.db, c.var.admin.merchantId)
  if (!merchant?.stripeAccountId) {
    return settingsPage(c, { account: { error: 'Connect with Stripe first.' } }, 409)
  }
  return { ...merchant, stripeAccountId: merchant.stripeAccountId }
}
