import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  ARTIFACTS,
  cspViolations,
  IPHONE_UA,
  LAPTOP,
  PHONE,
  useProduct,
  watchedPage,
} from './harness'

const product = useProduct()

async function signIn(page: Page): Promise<Page> {
  await page.goto(`${product.app.origin}/admin`)
  await page.waitForURL(/\/admin\/login$/)
  await page.getByLabel('API key').fill(product.app.apiKey)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${product.app.origin}/admin`)
  return page
}

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

describe('a merchant runs the admin in Chromium', () => {
  it('signs in, creates a checkout code, sees its QR, edits the amount with an audit entry, sees a payment, signs out', async () => {
    const context = await product.browser.newContext(LAPTOP)
    const { page, seen } = await watchedPage(context, product.app.origin)
    await signIn(page)

    await page.getByRole('link', { name: 'New code' }).click()
    await page.getByLabel('Take a payment').check()
    await page.getByLabel('Description').fill('Flat white')
    await page.getByLabel('Currency').selectOption('eur')
    await page.getByLabel('Amount (e.g. 4.50)').fill('4.50')
    await page.getByLabel('Custom slug (optional)').fill('flat-white')
    await page.getByRole('button', { name: 'Create code' }).click()
    await page.waitForURL(/\/admin\/codes\/code_/)
    const codeUrl = page.url()

    const qr = page.getByRole('img', { name: /QR code for/ })
    await qr.waitFor()
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(
      true,
    )
    expect(await page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true)
    expect(await page.getByRole('link', { name: 'Download PNG' }).isVisible()).toBe(true)
    // Open the short URL on a phone: the counter on this page goes up without a reload.
    const human = page.locator('[data-count="human"]')
    expect(await human.textContent()).toBe('0')
    await page.waitForFunction(
      () => document.querySelector('[data-live]')?.getAttribute('data-state') === 'live',
    )
    const scanner = await product.browser.newContext({ ...PHONE, userAgent: IPHONE_UA })
    await (await scanner.newPage()).goto(`${product.app.origin}/flat-white`)
    await page.waitForFunction(
      () => document.querySelector('[data-count="human"]')?.textContent === '1',
      null,
      {
        timeout: 5_000,
      },
    )
    expect(await page.locator('.feed li').first().textContent()).toContain('mobile')
    await scanner.close()
    await shoot(page, 'admin-code-laptop')

    // Edit the amount: a confirmation first, then the audit entry.
    await page.getByRole('link', { name: 'Edit' }).click()
    await page.getByLabel('Amount (e.g. 4.50)').fill('4.80')
    await page.getByRole('button', { name: 'Review changes' }).click()
    expect(await page.locator('td.change').textContent()).toBe('€4.50 → €4.80')
    await page.getByRole('button', { name: 'Confirm change' }).click()
    await page.waitForURL(codeUrl)
    expect(await page.getByRole('region', { name: 'Changes' }).textContent()).toContain('450 → 480')

    // A customer pays on their phone.
    const phone = await product.browser.newContext(PHONE)
    const customer = await phone.newPage()
    await customer.goto(`${product.app.origin}/flat-white`)
    await customer.getByRole('button', { name: /Pay/ }).click()
    await customer.getByRole('button', { name: 'Pay (succeeds)' }).click()
    await customer.waitForURL(/\/return\/pay_/)
    await phone.close()

    await page.reload()
    expect(await page.getByRole('region', { name: 'Recent payments' }).textContent()).toContain(
      '€4.80',
    )
    await page.getByRole('link', { name: 'Payments', exact: true }).click()
    expect(await page.locator('table').textContent()).toContain('paid')
    await shoot(page, 'admin-payments-laptop')
    await page.getByRole('link', { name: 'Codes', exact: true }).click()
    await shoot(page, 'admin-codes-laptop')
    await page.getByRole('link', { name: 'Settings', exact: true }).click()
    await shoot(page, 'admin-settings-laptop')
    const sessions = page.getByRole('region', { name: 'Signed-in sessions' })
    expect(await sessions.textContent()).toContain('this browser')

    expect(seen.violations).toEqual([])
    expect(seen.errors).toEqual([])
    expect(seen.foreign).toEqual([])
    expect(await cspViolations(page)).toEqual([])

    // The header's, not Settings' "Sign out everywhere".
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.waitForURL(/\/admin\/login$/)
    await page.goto(`${product.app.origin}/admin`)
    await page.waitForURL(/\/admin\/login$/)
    await context.close()
  })

  it('is usable on a 390 px phone', async () => {
    const context = await product.browser.newContext(PHONE)
    const page = await signIn(await context.newPage())
    await shoot(page, 'admin-codes-phone')
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    )
    expect(overflow).toBeLessThanOrEqual(0)
    await page.getByRole('link', { name: /^\/flat-white/ }).click()
    await shoot(page, 'admin-code-phone')
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0)
    await page.getByRole('link', { name: 'Payments', exact: true }).click()
    await shoot(page, 'admin-payments-phone')
    await page.getByRole('link', { name: 'Settings', exact: true }).click()
    await shoot(page, 'admin-settings-phone')
    await context.close()
  })
})
