/**
 * Who is paid, as a phone shows it (issue 21): a second merchant whose stored name imitates the
 * real one's verified domain — `Café Luna (demo) ✅` and "cafeluna.example" written backwards
 * inside a right-to-left override, an old row saved before the name rules — never gets the
 * verified badge on any page of a payment, and says "Unverified merchant"; the real, verified
 * merchant has the badge (drawn mark, the word "Verified", its domain) on every one.
 */
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createApiKey, createMerchant } from '../../src/auth/queries'
import { ARTIFACTS, cspViolations, PHONE, useProduct, watchedPage } from './harness'

const product = useProduct()

const IMITATION = 'Café Luna (demo) ✅ \u202Eelpmaxe.anulefac\u202C'

/** A checkout code of the merchant with this API key. */
async function checkoutCode(key: string, body: Record<string, unknown>) {
  const response = await fetch(`${product.app.origin}/api/v1/codes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'checkout', currency: 'eur', description: 'Lunch', ...body }),
  })
  expect(response.status).toBe(201)
  return (await response.json()) as { slug: string }
}

/** The imitator's key: its row goes straight into D1, as one saved before the rules would be. */
async function imitatorKey() {
  const id = await createMerchant(product.app.db, { name: IMITATION })
  return (await createApiKey(product.app.db, id, 'imitator')).key
}

/** The page shows the verified badge for cafeluna.example, drawn, or "Unverified merchant". */
async function expectPayee(page: Page, verified: boolean, where: string) {
  const badge = page.locator('.verified')
  if (verified) {
    expect(await badge.count(), where).toBe(1)
    expect(await badge.locator('.verified-word').textContent(), where).toBe('Verified')
    expect(await badge.locator('.verified-domain').textContent(), where).toBe('cafeluna.example')
    // The mark is drawn (an SVG with a size), and the badge is a tinted box text cannot make.
    const mark = await badge.locator('svg.mark').boundingBox()
    expect(mark?.width ?? 0, where).toBeGreaterThan(10)
    expect(await badge.evaluate((el) => getComputedStyle(el).backgroundColor), where).not.toMatch(
      /rgba\(0, 0, 0, 0\)|transparent/,
    )
    expect(await page.locator('.unverified').count(), where).toBe(0)
  } else {
    expect(await badge.count(), where).toBe(0)
    expect(await page.locator('svg.mark').count(), where).toBe(0)
    expect(await page.getByText('Verified', { exact: true }).count(), where).toBe(0)
    expect(await page.locator('.unverified').textContent(), where).toBe('Unverified merchant')
    // The name is shown without the override, so its text cannot reorder into a domain.
    const name = (await page.locator('.payee').textContent()) ?? ''
    expect(name, where).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/)
  }
}

/** Scans, pays in the test-mode provider, sees the confirmation and the receipt: each checked. */
async function payThrough(key: string, verified: boolean, shot: string) {
  const fixed = await checkoutCode(key, { amount: 1250 })
  const open = await checkoutCode(key, { amount_min: 100, amount_max: 5000 })
  const context = await product.browser.newContext({ ...PHONE, locale: 'en-GB' })
  const { page, seen } = await watchedPage(context, product.app.origin)

  await page.goto(`${product.app.origin}/${open.slug}`)
  await expectPayee(page, verified, 'open-amount page')

  await page.goto(`${product.app.origin}/${fixed.slug}`)
  await expectPayee(page, verified, 'checkout page')
  await page.screenshot({ path: join(ARTIFACTS, `payee-${shot}-phone.png`), fullPage: true })
  await page.getByRole('button', { name: /Pay/ }).click()
  await page.waitForURL(/\/test-mode\/checkout\//)
  await expectPayee(page, verified, 'test-mode pay page')
  await page.getByRole('button', { name: 'Pay (succeeds)' }).click()
  await page.waitForURL(/\/return\/pay_/)
  expect(await page.locator('h1').textContent()).toBe('Payment received')
  await expectPayee(page, verified, 'confirmation')
  await page.getByRole('link', { name: 'View receipt' }).click()
  await page.waitForURL(/\/r\/rcpt_/)
  await expectPayee(page, verified, 'receipt')
  await page.screenshot({ path: join(ARTIFACTS, `payee-${shot}-receipt.png`), fullPage: true })

  expect(await cspViolations(page)).toEqual([])
  expect(seen.violations).toEqual([])
  expect(seen.errors).toEqual([])
  await context.close()
}

describe('who is paid', () => {
  it("shows the verified merchant's badge on every page of a payment", async () => {
    await payThrough(product.app.apiKey, true, 'verified')
  })

  it('never shows it for a merchant whose old name imitates it, which reads "Unverified merchant"', async () => {
    await payThrough(await imitatorKey(), false, 'imitation')
  })
})
