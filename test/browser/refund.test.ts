/**
 * Issue 19: the merchant refunds part of a payment in the admin, through the confirm step, and
 * the customer's receipt shows it (test-mode provider, Chromium).
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ARTIFACTS, cspViolations, LAPTOP, PHONE, useProduct, watchedPage } from './harness'

const product = useProduct()

describe('a merchant refunds in the admin', () => {
  it("refunds part of a payment through the confirm step; the customer's receipt shows it", async () => {
    const created = await product.app.api('/api/v1/codes', {
      json: { action: 'checkout', currency: 'eur', amount: 450, description: 'Flat white' },
    })
    const code = (await created.json()) as { id: string; slug: string }

    // The customer pays on their phone.
    const phone = await product.browser.newContext(PHONE)
    const customer = await phone.newPage()
    await customer.goto(`${product.app.origin}/${code.slug}`)
    await customer.getByRole('button', { name: /Pay/ }).click()
    await customer.getByRole('button', { name: 'Pay (succeeds)' }).click()
    await customer.waitForURL(/\/return\/pay_/)
    const listed = await product.app.api(`/api/v1/payments?code_id=${code.id}`)
    const [payment] = ((await listed.json()) as { data: { id: string; receipt_url: string }[] })
      .data
    if (!payment) throw new Error('no payment')
    const receiptPath = new URL(payment.receipt_url).pathname
    await customer.goto(`${product.app.origin}${receiptPath}`)
    expect(await customer.locator('main').textContent()).not.toContain('Refunded')

    // The merchant signs in and refunds €2.00 of it, confirming first.
    const laptop = await product.browser.newContext(LAPTOP)
    const { page, seen } = await watchedPage(laptop, product.app.origin)
    await page.goto(`${product.app.origin}/admin`)
    await page.waitForURL(/\/admin\/login$/)
    await page.getByLabel('API key').fill(product.app.apiKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${product.app.origin}/admin`)
    await page.goto(`${product.app.origin}/admin/payments/${payment.id}`)
    await page.getByLabel('Amount (EUR)').fill('2.00')
    await page.getByLabel('Reason').selectOption('requested_by_customer')
    await page.getByRole('button', { name: 'Refund…' }).click()
    await page.getByRole('heading', { name: 'Confirm the refund' }).waitFor()
    expect(await page.locator('main').textContent()).toContain('€2.00')
    await page.getByRole('button', { name: 'Refund €2.00' }).click()
    await page.waitForURL(`${product.app.origin}/admin/payments/${payment.id}`)
    expect(await page.locator('main').textContent()).toContain('partially_refunded')
    await page.screenshot({ path: join(ARTIFACTS, 'admin-refunded-laptop.png'), fullPage: true })
    expect(seen.violations).toEqual([])
    expect(seen.errors).toEqual([])
    expect(await cspViolations(page)).toEqual([])

    // The customer's receipt shows the refund.
    await customer.reload()
    const receipt = (await customer.locator('main').textContent()) ?? ''
    expect(receipt).toContain('Refunded')
    expect(receipt).toMatch(/2[.,]00/)
    await customer.screenshot({
      path: join(ARTIFACTS, 'receipt-refunded-phone.png'),
      fullPage: true,
    })
    await laptop.close()
    await phone.close()
  })
})
