/**
 * A payment's pages (the test checkout, the confirmation, the receipt) show who was paid as the
 * customer saw it when pressing pay: the merchant's name and verified domain then. A later rename,
 * domain change or verification rewrites none of them (issue 21, finding 7; docs/trust.md).
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createApiKey, createMerchant } from '../../src/auth/queries'
import { createDb } from '../../src/db/client'
import { AdminClient } from '../admin/client'
import { call, createCode } from '../helpers'
import { chooseOutcome, pay } from './support'

/** A merchant as the brief's customer meets it: Café Luna, its domain verified unless told. */
async function cafeLuna(verified = true) {
  const db = createDb(env.DB)
  const merchantId = await createMerchant(db, {
    name: 'Café Luna',
    displayDomain: 'cafeluna.example',
    domainVerified: verified,
  })
  const { key } = await createApiKey(db, merchantId, 'test')
  const code = await createCode(key, {
    action: 'checkout',
    currency: 'eur',
    amount: 450,
    description: 'Flat white',
  })
  return { merchantId, key, code }
}

/** Pays the code in test mode: the test checkout's page, the confirmation's and the receipt's. */
async function payAndKeepPages(slug: string) {
  const pressed = await pay(slug)
  expect(pressed.status).toBe(303)
  const checkoutUrl = pressed.headers.get('location') ?? ''
  return {
    checkout: () => call(new URL(checkoutUrl).pathname).then((r) => r.text()),
    /** Chooses "Pay"; then the confirmation and receipt paths. */
    async complete() {
      const done = await chooseOutcome(checkoutUrl, 'paid')
      const returnPath = done.headers.get('location') ?? ''
      const confirmation = await (await call(returnPath)).text()
      const receiptPath = /href="(\/r\/rcpt_[0-9A-Za-z]{22})"/.exec(confirmation)?.[1] ?? ''
      expect(receiptPath).not.toBe('')
      return {
        confirmation: () => call(returnPath).then((r) => r.text()),
        receipt: () => call(receiptPath).then((r) => r.text()),
      }
    },
  }
}

/** Who a page shows as paid, read from the Payee component's markup. */
function payeeOf(html: string) {
  return {
    name: /<bdi class="payee">([^<]*)<\/bdi>/.exec(html)?.[1],
    verified: /<span class="verified-domain">([^<]*)<\/span>/.exec(html)?.[1] ?? null,
    unverified: html.includes('<span class="unverified">Unverified merchant</span>'),
  }
}

const CAFE_LUNA = { name: 'Café Luna', verified: 'cafeluna.example', unverified: false }

/** Renames the merchant in Settings; a new domain is unverified until its TXT record is found. */
async function rename(key: string, name: string, domain: string) {
  const admin = await AdminClient.signIn(key)
  const saved = await admin.post('/admin/settings', { name, display_domain: domain })
  expect(saved.status).toBe(200)
}

describe('who was paid, on a payment’s pages', () => {
  it('stays as it was when the customer paid after a rename and a new, unverified domain; a new payment shows the new one', async () => {
    const { key, code } = await cafeLuna()
    const paid = await (await payAndKeepPages(code.slug)).complete()
    expect(payeeOf(await paid.receipt())).toEqual(CAFE_LUNA)

    await rename(key, 'Luna Bar', 'lunabar.example')

    const receipt = await paid.receipt()
    expect(payeeOf(receipt)).toEqual(CAFE_LUNA)
    expect(receipt).toContain('Receipt from Café Luna</title>')
    expect(receipt).not.toContain('Luna Bar')
    expect(payeeOf(await paid.confirmation())).toEqual(CAFE_LUNA)

    const next = await (await payAndKeepPages(code.slug)).complete()
    const lunaBar = { name: 'Luna Bar', verified: null, unverified: true }
    expect(payeeOf(await next.receipt())).toEqual(lunaBar)
    expect(payeeOf(await next.confirmation())).toEqual(lunaBar)
  })

  it('keeps the domain verified on the receipt when it lapses later', async () => {
    const { merchantId, code } = await cafeLuna()
    const paid = await (await payAndKeepPages(code.slug)).complete()
    // As the daily re-check leaves a domain whose TXT record stayed missing past the grace.
    await env.DB.prepare('update merchants set domain_verified_at = null where id = ?')
      .bind(merchantId)
      .run()
    expect(payeeOf(await paid.receipt())).toEqual(CAFE_LUNA)
    expect(
      payeeOf(await (await payAndKeepPages(code.slug)).complete().then((p) => p.receipt())),
    ).toEqual({ name: 'Café Luna', verified: null, unverified: true })
  })

  it('keeps "Unverified merchant" on a receipt paid before the domain was verified', async () => {
    const { merchantId, code } = await cafeLuna(false)
    const paid = await (await payAndKeepPages(code.slug)).complete()
    await env.DB.prepare('update merchants set domain_verified_at = ? where id = ?')
      .bind(Date.now(), merchantId)
      .run()
    expect(payeeOf(await paid.receipt())).toEqual({
      name: 'Café Luna',
      verified: null,
      unverified: true,
    })
  })

  it('shows on the test checkout whom the customer chose to pay, even if renamed since', async () => {
    const { key, code } = await cafeLuna()
    const started = await payAndKeepPages(code.slug)
    await rename(key, 'Luna Bar', 'lunabar.example')
    expect(payeeOf(await started.checkout())).toEqual(CAFE_LUNA)
    const paid = await started.complete()
    expect(payeeOf(await paid.receipt())).toEqual(CAFE_LUNA)
  })

  it('shows a payment that recorded nobody (written by an older Worker) with the merchant as it is now', async () => {
    const { merchantId, key, code } = await cafeLuna()
    const paid = await (await payAndKeepPages(code.slug)).complete()
    await env.DB.prepare(
      'update payments set merchant_name = null, merchant_domain = null where merchant_id = ?',
    )
      .bind(merchantId)
      .run()
    expect(payeeOf(await paid.receipt())).toEqual(CAFE_LUNA)
    await rename(key, 'Luna Bar', 'cafeluna.example')
    expect(payeeOf(await paid.receipt())).toEqual({ ...CAFE_LUNA, name: 'Luna Bar' })
  })
})
