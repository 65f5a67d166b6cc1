import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, inject, it, vi } from 'vitest'
import {
  DOMAIN_GRACE_MS,
  DOMAIN_RECHECK_MS,
  DOMAINS_PER_RUN,
  type DomainsRechecked,
} from '../../src/auth/domains'
import { createMerchant, updateMerchantProfile } from '../../src/auth/queries'
import { createDb } from '../../src/db/client'
import type { Bindings } from '../../src/env'
import worker from '../../src/index'
import { DOMAINS_CRON } from '../../src/lib/crons'
import { chooseOutcome, pay } from '../checkout/support'
import { call, createCode, newMerchant } from '../helpers'
import { logLine, logLines } from '../logs'
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
    expect(before.html).toContain('Unverified merchant')
    expect(before.html).not.toContain('class="verified"')

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
    expect(after.html).toContain(`<span class="verified-domain">${domain}</span>`)
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
        { status: 200, body: JSON.stringify({ Status: 5 }) },
        { status: 200, body: JSON.stringify({ Status: 0, Answer: [{ data: 1 }] }) },
      ]) {
        await dns('fail', failure)
        const response = await verify(admin)
        expect(response.status, failure.body).toBe(502)
        expect(await response.text()).toContain('DNS could not be asked just now')
      }
      expect(logLines(warn)).toEqual(
        Array(4).fill(expect.objectContaining({ event: 'domain check failed', domain })),
      )
    } finally {
      warn.mockRestore()
    }
    expect((await checkoutPage(key)).html).not.toContain(domain)
    // SERVFAIL is an answer about the domain: its DNS fails, which the merchant can mend.
    await dns('fail', { status: 200, body: JSON.stringify({ Status: 2 }) })
    const servfail = await verify(admin)
    expect(servfail.status).toBe(200)
    expect(await servfail.text()).toContain(`DNS for ${domain} answers with an error (SERVFAIL)`)
    // The resolver answers again: the same record verifies.
    expect(await (await verify(admin)).text()).toContain('is verified')
  })
})

const HOUR = 3_600_000

/** The domain re-check's cron at `scheduledTime`, against the fake resolver (or `resolver`). */
async function recheck(
  scheduledTime: number,
  resolver = `http://127.0.0.1:${inject('dnsPort')}/dns-query`,
) {
  const ctx = createExecutionContext()
  const bindings: Bindings = { ...env, DNS_RESOLVER_URL: resolver }
  const log = vi.spyOn(console, 'info').mockImplementation(() => {})
  try {
    await worker.scheduled(
      createScheduledController({ scheduledTime, cron: DOMAINS_CRON }),
      bindings,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    const { level, event, ...summary } = logLine(log, 'display domains re-checked')
    return summary as unknown as DomainsRechecked
  } finally {
    log.mockRestore()
  }
}

/** A merchant whose domain was verified just now, with the TXT record in place. */
async function verifiedMerchant() {
  const merchant = await merchantWithDomain()
  const { admin, domain, token } = merchant
  // This file's tests share one D1: earlier merchants are put out of the job's way, so each run
  // looks at this merchant's domain (the job takes the 20 looked at longest ago).
  await env.DB.prepare('update merchants set domain_checked_at = ? where id != ?')
    .bind(Date.UTC(3000, 0, 1), merchant.merchantId)
    .run()
  /** The record there or not; or (status) the name's DNS failing with that status. */
  const record = (present: boolean, status?: number) =>
    dns('txt', {
      name: `_qrcheckout.${domain}`,
      records: present ? [`"qrcheckout-verify=${token}"`] : [],
      status,
    })
  await record(true)
  expect(await (await verify(admin)).text()).toContain('is verified')
  const shown = async () => (await checkoutPage(merchant.key)).html.includes(domain)
  const lookups = async () =>
    ((await dns('queries')) as { name: string }[]).filter((q) => q.name === `_qrcheckout.${domain}`)
      .length
  return { ...merchant, verifiedAt: Date.now(), record, shown, lookups }
}

describe('the daily re-check of a verified domain (the scheduled handler)', () => {
  it('unverifies a domain whose TXT record stays missing past the grace, and not before', async () => {
    const m = await verifiedMerchant()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      // Not due within a day of the last look.
      const asked = await m.lookups()
      await recheck(m.verifiedAt + DOMAIN_RECHECK_MS - HOUR)
      expect(await m.lookups()).toBe(asked)

      await m.record(false)
      const firstMiss = m.verifiedAt + DOMAIN_RECHECK_MS + HOUR
      await recheck(firstMiss)
      expect(await m.lookups()).toBe(asked + 1)
      expect(await m.shown()).toBe(true)
      const settings = await (await m.admin.get('/admin/settings')).text()
      expect(settings).toContain('has not been found since')
      expect(settings).toContain(`qrcheckout-verify=${m.token}`)
      expect(settings).toContain('Check now')

      // Still missing a day later, within the grace: still shown.
      await recheck(firstMiss + DOMAIN_RECHECK_MS)
      expect(await m.shown()).toBe(true)
      // A DNS outage past the grace unverifies nothing.
      await recheck(
        firstMiss + DOMAIN_GRACE_MS + HOUR,
        `http://127.0.0.1:${inject('dnsPort')}/down`,
      )
      expect(await m.shown()).toBe(true)
      expect(logLine(warn, 'display domain not re-checked: DNS gave no answer')).toMatchObject({
        domain: m.domain,
        merchantId: m.merchantId,
        error: { name: expect.any(String), stack: expect.any(String) },
      })
      // The next look past the grace that finds no record ends it.
      await recheck(firstMiss + DOMAIN_GRACE_MS + DOMAIN_RECHECK_MS + 2 * HOUR)
      expect(await m.shown()).toBe(false)
      expect(logLine(warn, 'display domain no longer verified')).toMatchObject({
        domain: m.domain,
        merchantId: m.merchantId,
      })
    } finally {
      warn.mockRestore()
    }
    // Settings asks for the same record again; restoring it and checking verifies it again.
    const settings = await (await m.admin.get('/admin/settings')).text()
    expect(settings).not.toContain('is verified')
    expect(settings).toContain(`qrcheckout-verify=${m.token}`)
    await m.record(true)
    expect(await (await verify(m.admin)).text()).toContain('is verified')
    expect(await m.shown()).toBe(true)
  })

  it('forgets an absence once the record is found again, by the job or by "Check now"', async () => {
    const m = await verifiedMerchant()
    await m.record(false)
    const firstMiss = m.verifiedAt + DOMAIN_RECHECK_MS + HOUR
    await recheck(firstMiss)
    await m.record(true)
    await recheck(firstMiss + DOMAIN_RECHECK_MS)
    expect(await (await m.admin.get('/admin/settings')).text()).not.toContain('has not been found')

    // Missing again: the grace counts from this absence, not the first one.
    await m.record(false)
    const secondMiss = firstMiss + 2 * DOMAIN_RECHECK_MS
    await recheck(secondMiss)
    await recheck(firstMiss + DOMAIN_GRACE_MS + HOUR)
    expect(await m.shown()).toBe(true)

    // "Check now" with the record back ends the absence at once.
    await m.record(true)
    const checked = await (await verify(m.admin)).text()
    expect(checked).toContain('is verified')
    expect(checked).not.toContain('has not been found')
    await m.record(false)
    await recheck(secondMiss + DOMAIN_GRACE_MS + HOUR)
    expect(await m.shown()).toBe(true)
  })

  it('looks at most DOMAINS_PER_RUN domains a run, longest unchecked first, 6 at a time', async () => {
    const db = createDb(env.DB)
    const now = Date.now()
    const tag = `batch${now}`
    const domains: string[] = []
    for (let i = 0; i <= DOMAINS_PER_RUN; i++) {
      const domain = `${tag}-${i}.example`
      const id = await createMerchant(db, {
        name: `M${i}`,
        displayDomain: domain,
        domainVerified: true,
      })
      // i = 0 was looked at longest ago.
      await env.DB.prepare('update merchants set domain_verified_at = ? where id = ?')
        .bind(now - 10 * DOMAIN_RECHECK_MS + i * HOUR, id)
        .run()
      domains.push(domain)
    }
    const asked = async () =>
      new Set(
        ((await dns('queries')) as { name: string }[])
          .map((q) => q.name.replace('_qrcheckout.', ''))
          .filter((name) => name.startsWith(tag)),
      )
    // And no more than 6 lookups at once (a Worker's open-connection limit).
    const realFetch = globalThis.fetch
    let inFlight = 0
    let most = 0
    const counting = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      most = Math.max(most, ++inFlight)
      try {
        await new Promise((resolve) => setTimeout(resolve, 5))
        return await realFetch(input, init)
      } finally {
        inFlight--
      }
    })
    try {
      await recheck(now)
    } finally {
      counting.mockRestore()
    }
    expect(most).toBe(6)
    expect([...(await asked())].sort()).toEqual(domains.slice(0, DOMAINS_PER_RUN).sort())
    await recheck(now + HOUR)
    expect(await asked()).toContain(domains[DOMAINS_PER_RUN])
  })

  it("counts a failure of the domain's own DNS (SERVFAIL) as a missing record", async () => {
    const m = await verifiedMerchant()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      await m.record(true, 2)
      const firstMiss = m.verifiedAt + DOMAIN_RECHECK_MS + HOUR
      expect(await recheck(firstMiss)).toEqual({
        checked: 1,
        found: 0,
        missing: 1,
        unverified: 0,
        unanswered: 0,
        changed: 0,
      })
      expect(await (await m.admin.get('/admin/settings')).text()).toContain('has not been found')
      expect(await recheck(firstMiss + DOMAIN_GRACE_MS)).toMatchObject({
        checked: 1,
        unverified: 1,
      })
      expect(await m.shown()).toBe(false)
    } finally {
      warn.mockRestore()
    }
  })

  it.each([
    ['the record missing', undefined],
    ['no answer from the resolver', 'down'],
  ])(
    'writes nothing for a domain the merchant changed while it was being looked up (%s)',
    async (_, path) => {
      const m = await verifiedMerchant()
      await m.record(false)
      const realFetch = globalThis.fetch
      const other = `new.${m.domain}`
      const racing = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
        const response = await realFetch(input, init)
        const url = input instanceof Request ? input.url : String(input)
        if (url.includes(m.domain)) {
          await updateMerchantProfile(createDb(env.DB), m.merchantId, {
            name: 'Luna',
            displayDomain: other,
          })
        }
        return response
      })
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
      try {
        const resolver = path && `http://127.0.0.1:${inject('dnsPort')}/${path}`
        expect(await recheck(m.verifiedAt + DOMAIN_RECHECK_MS + HOUR, resolver)).toMatchObject({
          checked: 1,
          changed: 1,
          missing: 0,
          unanswered: 0,
        })
      } finally {
        racing.mockRestore()
        warn.mockRestore()
      }
      const row = await env.DB.prepare(
        'select display_domain, domain_verified_at, domain_checked_at, domain_missing_since from merchants where id = ?',
      )
        .bind(m.merchantId)
        .first()
      expect(row).toEqual({
        display_domain: other,
        domain_verified_at: null,
        domain_checked_at: null,
        domain_missing_since: null,
      })
    },
  )
})
