/**
 * Platform mode's onboarding: "Connect with Stripe" makes one Standard account per merchant and
 * sends the merchant to Stripe's hosted onboarding; the return page re-reads the account, the
 * refresh page replaces an expired link, and the API says where the account stands. Real SDK
 * against the in-repo fake; offline, the simulated onboarding page.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { AdminClient } from '../admin/client'
import { fakeStripe, stripeEnv, stripeRequests } from '../checkout/support'
import { call, newMerchant, problemOf } from '../helpers'

const platform = () => ({ ...stripeEnv(), PAYMENT_MODE: 'platform' })
/** Stripe unreachable: nothing listens on the discard port. */
/**
 * Stripe answering 500 to a request and both of the SDK's retries. (A closed port would do too,
 * but workerd prints each refused connection's stack to the test log.)
 */
const stripeFails = () => fakeStripe('fail-next', { status: 500, type: 'api_error', times: 3 })

/** A page's text as a reader sees it (the renderer escapes apostrophes). */
const textOf = async (response: Response) => (await response.text()).replaceAll('&#39;', "'")

async function signedIn(bindings: Record<string, string>) {
  const merchant = await newMerchant()
  const admin = await AdminClient.signIn(merchant.key)
  admin.bindings = bindings
  return { ...merchant, admin }
}

async function accountOf(merchantId: string) {
  return env.DB.prepare('select * from merchants where id = ?')
    .bind(merchantId)
    .first<Record<string, unknown> & { stripe_account_id: string | null }>()
}

async function apiAccount(key: string, bindings: Record<string, string>) {
  const response = await call('/api/v1/account', { key, env: bindings })
  expect(response.status).toBe(200)
  return (await response.json()) as Record<string, unknown>
}

describe('connecting a Stripe account (platform mode)', () => {
  it('makes one Standard account per merchant, however often Connect is pressed', async () => {
    const { admin, merchantId, key } = await signedIn(platform())
    expect(await textOf(await admin.get('/admin/settings'))).toContain('Connect with Stripe')
    expect(await apiAccount(key, platform())).toMatchObject({
      mode: 'platform',
      payable: false,
      payable_reason: 'no_payment_account',
      stripe_account_id: null,
    })

    const first = await admin.post('/admin/settings/stripe/connect')
    expect(first.status).toBe(303)
    const account = (await accountOf(merchantId))?.stripe_account_id
    expect(account).toMatch(/^acct_/)
    expect(first.headers.get('location')).toContain(`/setup/s/${account}/`)
    const second = await admin.post('/admin/settings/stripe/connect')
    expect(second.status).toBe(303)
    expect(second.headers.get('location')).not.toBe(first.headers.get('location'))
    expect((await accountOf(merchantId))?.stripe_account_id).toBe(account)

    const requests = await stripeRequests()
    const creates = requests.filter(
      (r) => r.path === '/v1/accounts' && r.idempotencyKey === `connect-account:${merchantId}`,
    )
    expect(creates).toHaveLength(1)
    expect(creates[0]?.params).toMatchObject({ type: 'standard' })
    const links = requests.filter(
      (r) => r.path === '/v1/account_links' && r.params.account === account,
    )
    expect(links).toHaveLength(2)
    expect(links[0]?.params).toMatchObject({
      type: 'account_onboarding',
      return_url: 'https://qr.test/admin/settings/stripe/return',
      refresh_url: 'https://qr.test/admin/settings/stripe/refresh',
    })
    expect(links.every((l) => l.stripeAccount === null)).toBe(true)
  })

  it('shows, on return, where the account stands: abandoned, requirements due, ready', async () => {
    const { admin, merchantId, key } = await signedIn(platform())
    await admin.post('/admin/settings/stripe/connect')
    const account = (await accountOf(merchantId))?.stripe_account_id as string

    // Left Stripe's pages before finishing: Stripe still sends the merchant to return_url.
    const abandoned = await admin.get('/admin/settings/stripe/return')
    expect(abandoned.status).toBe(200)
    expect(await textOf(abandoned)).toContain("Onboarding isn't finished")

    await fakeStripe(`accounts/${account}/state`, {
      state: 'requirements_due',
      currently_due: ['individual.verification.document'],
    })
    const due = await admin.get('/admin/settings/stripe/return')
    const page = await textOf(due)
    expect(page).toContain('Stripe needs more')
    expect(page).toContain('individual.verification.document')
    expect(page).toContain('Continue onboarding with Stripe')
    expect(await apiAccount(key, platform())).toMatchObject({
      payable: false,
      payable_reason: 'account_not_ready',
      details_submitted: true,
      requirements_due: ['individual.verification.document'],
      disabled_reason: 'requirements.past_due',
    })

    await fakeStripe(`accounts/${account}/state`, { state: 'ready' })
    const ready = await admin.get('/admin/settings/stripe/return')
    expect(await textOf(ready)).toContain('connected and can take payments')
    const state = await apiAccount(key, platform())
    expect(state).toMatchObject({
      payable: true,
      payable_reason: null,
      stripe_account_id: account,
      charges_enabled: true,
      payouts_enabled: true,
      requirements_due: [],
    })
    expect(Date.parse(String(state.updated_at))).toBeGreaterThan(Date.now() - 60_000)
  })

  it('replaces an expired or used link from the refresh page', async () => {
    const { admin, merchantId } = await signedIn(platform())
    await admin.post('/admin/settings/stripe/connect')
    const account = (await accountOf(merchantId))?.stripe_account_id as string
    const before = (await stripeRequests()).length
    // Stripe sends the merchant here when the link expired, or was opened already.
    const fresh = await admin.get('/admin/settings/stripe/refresh')
    expect(fresh.status).toBe(303)
    expect(fresh.headers.get('location')).toContain(`/setup/s/${account}/`)
    const made = (await stripeRequests()).slice(before)
    expect(made.filter((r) => r.path === '/v1/account_links')).toHaveLength(1)
    expect(made.filter((r) => r.path === '/v1/accounts')).toHaveLength(0)
  })

  it('answers every odd arrival with a page, never a 500, and changes nothing', async () => {
    const { admin, merchantId } = await signedIn(platform())
    // Return and refresh before any account exists (a bookmarked or forged link).
    for (const path of ['/admin/settings/stripe/return', '/admin/settings/stripe/refresh']) {
      const response = await admin.get(path)
      expect(response.status, path).toBe(409)
      expect(await textOf(response)).toContain('Connect with Stripe first')
    }
    // Stripe failing (500s through the SDK's retries): a 502 page, and no account stored.
    await stripeFails()
    const down = await admin.post('/admin/settings/stripe/connect')
    expect(down.status).toBe(502)
    expect(await textOf(down)).toContain('Stripe could not be reached')
    expect((await accountOf(merchantId))?.stripe_account_id).toBeNull()

    await admin.post('/admin/settings/stripe/connect')
    for (const path of ['/admin/settings/stripe/return', '/admin/settings/stripe/refresh']) {
      await stripeFails()
      const response = await admin.get(path)
      expect(response.status, path).toBe(502)
    }
    expect((await accountOf(merchantId))?.stripe_account_updated_at).toBeNull()

    // Not signed in: the sign-in page; cross-site: refused.
    const anonymous = await call('/admin/settings/stripe/return', { env: platform() })
    expect(anonymous.status).not.toBe(200)
    expect(anonymous.status).toBeLessThan(500)
    const crossSite = await admin.post('/admin/settings/stripe/connect', {}, 'https://evil.test')
    expect(crossSite.status).toBe(403)
  })

  it('has nothing to connect in one-business mode, and says so', async () => {
    const { admin, key, merchantId } = await signedIn(stripeEnv())
    expect(await textOf(await admin.get('/admin/settings'))).not.toContain('Connect with Stripe')
    for (const [method, path] of [
      ['POST', '/admin/settings/stripe/connect'],
      ['GET', '/admin/settings/stripe/return'],
      ['GET', '/admin/settings/stripe/refresh'],
    ] as const) {
      const response = method === 'POST' ? await admin.post(path) : await admin.get(path)
      expect(response.status, path).toBe(409)
      expect(await textOf(response)).toContain('its own Stripe account')
    }
    expect((await accountOf(merchantId))?.stripe_account_id).toBeNull()
    expect(await apiAccount(key, stripeEnv())).toMatchObject({
      mode: 'one_business',
      payable: true,
      payable_reason: null,
    })
  })

  it('refuses bad input to GET /api/v1/account with problem+json', async () => {
    const { key } = await newMerchant()
    const query = await call('/api/v1/account?mode=platform', { key })
    expect(query.status).toBe(400)
    expect((await problemOf(query)).code).toBe('validation_failed')
    const anonymous = await call('/api/v1/account')
    expect(anonymous.status).toBe(401)
    expect((await problemOf(anonymous)).code).toBe('unauthorized')
    const misconfigured = await apiAccount(key, { PAYMENT_MODE: 'platfrom' })
    expect(misconfigured).toMatchObject({
      mode: null,
      payable: false,
      payable_reason: 'payments_not_configured',
    })
  })
})

describe('simulated onboarding offline (test mode, platform mode)', () => {
  const offline = { PAYMENT_MODE: 'platform' }

  it('walks through requirements due to ready on our own TEST MODE pages', async () => {
    const { admin, key, merchantId } = await signedIn(offline)
    const connect = await admin.post('/admin/settings/stripe/connect')
    expect(connect.status).toBe(303)
    const location = new URL(connect.headers.get('location') ?? '')
    expect(location.pathname).toBe('/admin/settings/stripe/test-onboarding')
    expect((await accountOf(merchantId))?.stripe_account_id).toMatch(/^acct_test_/)

    const page = await admin.get(`${location.pathname}${location.search}`)
    expect(page.status).toBe(200)
    const html = await textOf(page)
    expect(html).toContain('TEST MODE')
    for (const outcome of ['ready', 'requirements_due', 'rejected']) {
      expect(html).toContain(`value="${outcome}"`)
    }

    const due = await admin.post('/admin/settings/stripe/test-onboarding', {
      outcome: 'requirements_due',
    })
    expect(due.status).toBe(303)
    expect(due.headers.get('location')).toBe('/admin/settings/stripe/return')
    const back = await admin.get('/admin/settings/stripe/return')
    const backHtml = await textOf(back)
    expect(backHtml).toContain('Stripe needs more')
    expect(backHtml).toContain('TEST MODE')
    expect(await apiAccount(key, offline)).toMatchObject({ payable_reason: 'account_not_ready' })

    await admin.post('/admin/settings/stripe/test-onboarding', { outcome: 'ready' })
    expect(await apiAccount(key, offline)).toMatchObject({ payable: true, charges_enabled: true })

    await admin.post('/admin/settings/stripe/test-onboarding', { outcome: 'rejected' })
    expect(await textOf(await admin.get('/admin/settings/stripe/return'))).toContain(
      'Stripe has rejected this account',
    )
    expect(await apiAccount(key, offline)).toMatchObject({
      payable: false,
      disabled_reason: 'rejected.other',
    })
  })

  it('refuses a made-up outcome, an unconnected merchant, and runs only in test mode', async () => {
    const { admin } = await signedIn(offline)
    const early = await admin.post('/admin/settings/stripe/test-onboarding', { outcome: 'ready' })
    expect(early.status).toBe(409)
    await admin.post('/admin/settings/stripe/connect')
    const bogus = await admin.post('/admin/settings/stripe/test-onboarding', { outcome: 'rich' })
    expect(bogus.status).toBe(400)
    expect(await textOf(bogus)).toContain('Choose ready, requirements due or rejected')
    const noOutcome = await admin.post('/admin/settings/stripe/test-onboarding')
    expect(noOutcome.status).toBe(400)

    admin.bindings = platform()
    for (const response of [
      await admin.get('/admin/settings/stripe/test-onboarding'),
      await admin.post('/admin/settings/stripe/test-onboarding', { outcome: 'ready' }),
    ]) {
      expect(response.status).toBe(404)
    }
    admin.bindings = { ...offline, ENVIRONMENT: 'production' }
    expect((await admin.post('/admin/settings/stripe/connect')).status).toBe(503)
  })
})
