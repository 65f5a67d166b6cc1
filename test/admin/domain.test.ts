import { env } from 'cloudflare:workers'
import { describe, expect, inject, it, vi } from 'vitest'
import { updateMerchantProfile } from '../../src/auth/queries'
import { createDb } from '../../src/db/client'
import { chooseOutcome, pay } from '../checkout/support'
import { call, createCode, newMerchant } from '../helpers'
import { AdminClient } from './client'

const dns = (path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${inject('dnsPort')}/__fake/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.json() as Promise<unknown>)

let domains = 0
/** A merchant signed in to the admin, with a new display domain set and a checkout code. */
async function merchantWithDomain() {
  const { key, merchantId } = await newMerchant('Luna Coffee')
  const admin = await AdminClient.signIn(key)
  admin.bindings = { DNS_RESOLVER_URL: `http://127.0.0.1:${inject('dnsPort')}/dns-query` }
  const domain = `shop${++domains}-${Date.now()}.example`
  const saved = await admin.post('/admin/settings', { name: 'Luna Coffee', display_domain: domain })
  expect(saved.status).toBe(200)
  const page = await saved.text()
  const token = /qrcheckout-verify=([0-9a-f]{32})/.exec(page)?.[1] ?? ''
  expect(token).not.toBe('')
  expect(page).toContain(`_qrcheckout.${domain}`)
  return { merchantId, key, admin, domain, token }
}

/** The checkout page of a new checkout code of the merchant (new: no cache has seen it). */
async function checkoutPage(key: string) {
  const code = await createCode(key, {
    action: 'checkout',
    currency: 'eur',
    amount: 450,
    description: 'Flat white',
  })
  return { code, html: await (await call(`/${code.slug}`)).text() }
}

const verify = (admin: AdminClient) => admin.post('/admin/settings/domain/verify')

describe("the merchant's display domain", () => {
  it('is shown on checkout pages and receipts only once its TXT record proves it', async () => {
    const { key, admin, domain, token } = await merchantWithDomain()
    const before = await checkoutPage(key)
    expect(before.html).toContain('Luna Coffee')
    expect(before.html).not.toContain(domain)

    const missing = await verify(admin)
    expect(missing.status).toBe(200)
    expect(await missing.text()).toContain(`No such TXT record on ${domain} yet`)
    expect((await checkoutPage(key)).html).not.toContain(domain)

    // Another token's record does not count.
    const foreign = `"qrcheckout-verify=${'0'.repeat(32)}"`
    await dns('txt', { name: `_qrcheckout.${domain}`, records: [foreign] })
    expect(await (await verify(admin)).text()).toContain(`No such TXT record on ${domain} yet`)
    // The right one counts, even split in two strings as DNS carries long values.
    await dns('txt', {
      name: `_qrcheckout.${domain}`,
      records: [foreign, `"qrcheckout-" "verify=${token}"`],
    })
    const verified = await verify(admin)
    expect(verified.status).toBe(200)
    expect(await verified.text()).toContain(`${domain}</strong> is verified`)
    const queries = (await dns('queries')) as { name: string; type: string; accept: string }[]
    expect(queries).toContainEqual({
      name: `_qrcheckout.${domain}`,
      type: 'TXT',
      accept: 'application/dns-json',
    })

    const after = await checkoutPage(key)
    expect(after.html).toContain(`<span class="domain">${domain}</span>`)
    const pressed = await pay(after.code.slug)
    const paid = await chooseOutcome(pressed.headers.get('location') ?? '', 'paid')
    const receiptPath = /href="(\/r\/rcpt_[0-9A-Za-z]+)"/.exec(
      await (await call(new URL(paid.headers.get('location') ?? '', 'https://x').pathname)).text(),
    )?.[1]
    expect(receiptPath).toBeDefined()
    expect(await (await call(receiptPath ?? '')).text()).toContain(domain)
  })

  it('starts over when the domain changes, and stays verified when saved unchanged', async () => {
    const { key, admin, domain, token } = await merchantWithDomain()
    await dns('txt', { name: `_qrcheckout.${domain}`, records: [`"qrcheckout-verify=${token}"`] })
    expect((await verify(admin)).status).toBe(200)

    const renamed = await admin.post('/admin/settings', { name: 'Luna', display_domain: domain })
    expect(await renamed.text()).toContain(`${domain}</strong> is verified`)
    expect((await checkoutPage(key)).html).toContain(domain)

    const other = `other-${domain}`
    const moved = await (
      await admin.post('/admin/settings', { name: 'Luna', display_domain: other })
    ).text()
    const newToken = /qrcheckout-verify=([0-9a-f]{32})/.exec(moved)?.[1]
    expect(newToken).toMatch(/^[0-9a-f]{32}$/)
    expect(newToken).not.toBe(token)
    expect(moved).toContain(`_qrcheckout.${other}`)
    const page = (await checkoutPage(key)).html
    expect(page).not.toContain(other)
    expect(page).not.toContain(domain)

    const cleared = await (await admin.post('/admin/settings', { name: 'Luna' })).text()
    expect(cleared).not.toContain('qrcheckout-verify=')
    const nothing = await verify(admin)
    expect(nothing.status).toBe(400)
    expect(await nothing.text()).toContain('Set your domain first')
  })

  it('cannot be taken over: another merchant setting a verified domain does not verify it', async () => {
    const owner = await merchantWithDomain()
    await dns('txt', {
      name: `_qrcheckout.${owner.domain}`,
      records: [`"qrcheckout-verify=${owner.token}"`],
    })
    expect(await (await verify(owner.admin)).text()).toContain('is verified')

    const other = await merchantWithDomain()
    const page = await (
      await other.admin.post('/admin/settings', { name: 'Not Luna', display_domain: owner.domain })
    ).text()
    const theirToken = /qrcheckout-verify=([0-9a-f]{32})/.exec(page)?.[1]
    expect(theirToken).toMatch(/^[0-9a-f]{32}$/)
    expect(theirToken).not.toBe(owner.token)
    expect(await (await verify(other.admin)).text()).toContain('No such TXT record')
    expect((await checkoutPage(other.key)).html).not.toContain(owner.domain)
    expect((await checkoutPage(owner.key)).html).toContain(owner.domain)
  })

  it('does not verify a domain whose token changed while its record was being looked up', async () => {
    const { merchantId, key, admin, domain, token } = await merchantWithDomain()
    await dns('txt', { name: `_qrcheckout.${domain}`, records: [`"qrcheckout-verify=${token}"`] })
    const realFetch = globalThis.fetch
    // Meanwhile the merchant sets another domain and then this one again: a new token.
    const racing = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const response = await realFetch(input, init)
      const url = input instanceof Request ? input.url : String(input)
      if (url.includes('/dns-query')) {
        const db = createDb(env.DB)
        await updateMerchantProfile(db, merchantId, { name: 'Luna', displayDomain: `x.${domain}` })
        await updateMerchantProfile(db, merchantId, { name: 'Luna', displayDomain: domain })
      }
      return response
    })
    try {
      const page = await (await verify(admin)).text()
      expect(page).not.toContain('is verified')
      const newToken = /qrcheckout-verify=([0-9a-f]{32})/.exec(page)?.[1]
      expect(newToken).toMatch(/^[0-9a-f]{32}$/)
      expect(newToken).not.toBe(token)
    } finally {
      racing.mockRestore()
    }
    expect((await checkoutPage(key)).html).not.toContain(domain)
  })

  it('gives a domain saved before tokens existed a token when the form is saved again', async () => {
    const { merchantId, admin, domain } = await merchantWithDomain()
    await env.DB.prepare('update merchants set domain_token = null where id = ?')
      .bind(merchantId)
      .run()
    const before = await (await admin.get('/admin/settings')).text()
    expect(before).toContain('Save the form above again')
    expect(before).not.toContain('qrcheckout-verify=')
    const saved = await (
      await admin.post('/admin/settings', { name: 'Luna Coffee', display_domain: domain })
    ).text()
    expect(saved).toMatch(/qrcheckout-verify=[0-9a-f]{32}/)
    expect(saved).toContain('Check now')
  })

  it('answers a resolver that fails or answers nonsense with a message, verifying nothing', async () => {
    const { key, admin, domain, token } = await merchantWithDomain()
    await dns('txt', { name: `_qrcheckout.${domain}`, records: [`"qrcheckout-verify=${token}"`] })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      for (const failure of [
        { status: 500, body: 'oops' },
        { status: 200, body: '<html>not json</html>' },
        { status: 200, body: JSON.stringify({ Status: 2 }) },
        { status: 200, body: JSON.stringify({ Status: 0, Answer: [{ data: 1 }] }) },
      ]) {
        await dns('fail', failure)
        const response = await verify(admin)
        expect(response.status, failure.body).toBe(502)
        expect(await response.text()).toContain('DNS could not be asked just now')
      }
      expect(warn).toHaveBeenCalledTimes(4)
    } finally {
      warn.mockRestore()
    }
    expect((await checkoutPage(key)).html).not.toContain(domain)
    // The resolver answers again: the same record verifies.
    expect(await (await verify(admin)).text()).toContain('is verified')
  })
})
