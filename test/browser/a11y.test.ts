/**
 * The pages customers and merchants meet, audited by axe-core (test/browser/axe.ts) in the state
 * the clicks leading there leave them, at a phone's and a laptop's width, and in dark mode for the
 * customer pages (the admin has no dark styles).
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { expectAccessible } from './axe'
import { LAPTOP, PHONE, useProduct, watchedPage } from './harness'

const product = useProduct()

async function createCode(json: Record<string, unknown>): Promise<string> {
  const created = await product.app.api('/api/v1/codes', { json: { action: 'checkout', ...json } })
  return ((await created.json()) as { slug: string }).slug
}

/** From the checkout page to the paid page, through the test-mode provider. */
async function pay(page: Page) {
  await page.getByRole('button', { name: /Pay/ }).click()
  await page.waitForURL(/\/test-mode\/checkout\//)
  await page.getByRole('button', { name: 'Pay (succeeds)' }).click()
  await page.waitForURL(/\/return\/pay_/)
}

describe('axe finds no WCAG 2.1 A/AA violation', () => {
  it.each([
    ['390 px phone', PHONE],
    ['390 px phone in dark mode', { ...PHONE, colorScheme: 'dark' as const }],
    ['1440 px laptop', LAPTOP],
  ])(
    'on the customer pages on a %s: checkout (fixed, open, refused amount), test provider, paid, receipt',
    async (_, device) => {
      const context = await product.browser.newContext(device)
      const { page, seen } = await watchedPage(context, product.app.origin)
      const fixed = await createCode({ currency: 'eur', amount: 1250, description: 'Lunch menu' })
      const open = await createCode({
        currency: 'usd',
        amount_min: 100,
        amount_max: 5000,
        description: 'Tip',
      })

      await page.goto(`${product.app.origin}/${fixed}`)
      await expectAccessible(page, 'the checkout page (fixed amount)')
      await page.getByRole('button', { name: /Pay/ }).click()
      await page.waitForURL(/\/test-mode\/checkout\//)
      await expectAccessible(page, 'the test-mode provider page')
      await page.getByRole('button', { name: 'Pay (succeeds)' }).click()
      await page.waitForURL(/\/return\/pay_/)
      await expectAccessible(page, 'the paid page')
      await page.getByRole('link', { name: 'View receipt' }).click()
      await page.waitForURL(/\/r\/rcpt_/)
      await expectAccessible(page, 'the receipt')

      await page.goto(`${product.app.origin}/${open}`)
      await expectAccessible(page, 'the checkout page (open amount)')
      await page.getByLabel(/Amount/).fill('75')
      await page.getByRole('button', { name: 'Pay' }).click()
      await page.getByRole('alert').waitFor()
      await expectAccessible(page, 'the checkout page refusing an amount')

      expect(seen.violations).toEqual([])
      expect(seen.foreign).toEqual([])
      await context.close()
    },
  )

  it.each([
    ['390 px phone', PHONE],
    ['1440 px laptop', LAPTOP],
  ])(
    'on the admin pages on a %s: sign-in, codes, a code, new code, payments, settings',
    async (_, device) => {
      const context = await product.browser.newContext(device)
      const slug = await createCode({ currency: 'eur', amount: 450, description: 'Flat white' })
      const customer = await context.newPage()
      await customer.goto(`${product.app.origin}/${slug}`)
      await pay(customer)
      await customer.close()
      const { page, seen } = await watchedPage(context, product.app.origin)

      await page.goto(`${product.app.origin}/admin/login`)
      await expectAccessible(page, 'the sign-in page')
      await page.getByLabel('API key').fill(product.app.apiKey)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(`${product.app.origin}/admin`)
      await expectAccessible(page, 'the codes list')
      await page.getByRole('link', { name: new RegExp(`^/${slug}`) }).click()
      await page.waitForURL(/\/admin\/codes\/code_/)
      await expectAccessible(page, 'a code page')
      await page.getByRole('link', { name: 'Codes', exact: true }).click()
      await page.getByRole('link', { name: 'New code' }).click()
      await page.waitForURL(/\/admin\/codes\/new$/)
      await expectAccessible(page, 'the new code form')
      await page.getByRole('link', { name: 'Payments', exact: true }).click()
      await page.waitForURL(/\/admin\/payments$/)
      expect(await page.locator('table').textContent()).toContain('paid')
      await expectAccessible(page, 'the payments page')
      await page.getByRole('link', { name: 'Settings', exact: true }).click()
      await page.waitForURL(/\/admin\/settings$/)
      await expectAccessible(page, 'the settings page')

      expect(seen.violations).toEqual([])
      expect(seen.errors).toEqual([])
      expect(seen.foreign).toEqual([])
      await context.close()
    },
  )
})
