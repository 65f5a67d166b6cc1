import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ARTIFACTS, cspViolations, PHONE, useProduct, watchedPage } from './harness'

const product = useProduct()

async function phonePage() {
  const context = await product.browser.newContext({ ...PHONE, locale: 'de-DE' })
  return { ...(await watchedPage(context, product.app.origin)), context }
}

describe('a customer pays on a phone (test-mode provider)', () => {
  it('scans, pays a fixed amount, sees the confirmation and the receipt, with no CSP violation', async () => {
    const created = await product.app.api('/api/v1/codes', {
      json: {
        action: 'checkout',
        currency: 'eur',
        amount: 1250,
        description: 'Lunch menu <b>today</b>',
      },
    })
    const code = (await created.json()) as { slug: string }
    const { page, seen, context } = await phonePage()

    await page.goto(`${product.app.origin}/${code.slug}`)
    expect(await page.locator('.test-banner').textContent()).toContain('TEST MODE')
    expect(await page.locator('.payee').textContent()).toBe('Café Luna')
    expect(await page.locator('.verified-domain').textContent()).toBe('cafeluna.example')
    expect(await page.locator('h1').textContent()).toBe('Lunch menu <b>today</b>')
    expect(await page.locator('.amount').textContent()).toBe('12,50\u00a0€')
    expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).toContain(
      'system-ui',
    )
    await page.screenshot({ path: join(ARTIFACTS, 'checkout-phone.png'), fullPage: true })
    expect(await cspViolations(page)).toEqual([])

    await page.getByRole('button', { name: /Pay/ }).click()
    await page.waitForURL(/\/test-mode\/checkout\//)
    await page.screenshot({ path: join(ARTIFACTS, 'test-provider-phone.png'), fullPage: true })
    await page.getByLabel('Email for the receipt (optional)').fill('ana@example.com')
    await page.getByRole('button', { name: 'Pay (succeeds)' }).click()
    await page.waitForURL(/\/return\/pay_/)
    expect(await page.locator('h1').textContent()).toBe('Payment received')
    await page.screenshot({ path: join(ARTIFACTS, 'paid-phone.png'), fullPage: true })

    await page.getByRole('link', { name: 'View receipt' }).click()
    await page.waitForURL(/\/r\/rcpt_/)
    const receipt = await page.locator('.card').textContent()
    expect(receipt).toContain('Café Luna')
    expect(receipt).toContain('12,50\u00a0€')
    expect(receipt).toContain('•••• 4242')
    await page.screenshot({ path: join(ARTIFACTS, 'receipt-phone.png'), fullPage: true })

    expect(await cspViolations(page)).toEqual([])
    expect(seen.violations).toEqual([])
    expect(seen.errors).toEqual([])
    expect(seen.foreign).toEqual([])
    await context.close()
  })

  it('chooses an open amount, is told when it is out of bounds, then pays', async () => {
    const created = await product.app.api('/api/v1/codes', {
      json: {
        action: 'checkout',
        currency: 'usd',
        amount_min: 100,
        amount_max: 5000,
        description: 'Tip',
      },
    })
    const code = (await created.json()) as { slug: string }
    const { page, seen, context } = await phonePage()
    await page.goto(`${product.app.origin}/${code.slug}`)
    const field = page.getByLabel(/Amount/)
    await field.fill('75')
    await page.getByRole('button', { name: 'Pay' }).click()
    expect(await page.getByRole('alert').textContent()).toBe(
      'The amount must be at most 50,00\u00a0$',
    )
    expect(await page.getByLabel(/Amount/).inputValue()).toBe('75')
    await page.getByLabel(/Amount/).fill('12,50')
    await page.getByRole('button', { name: 'Pay' }).click()
    await page.waitForURL(/\/test-mode\/checkout\//)
    expect(await page.locator('.amount').textContent()).toBe('12,50\u00a0$')
    await page.getByRole('button', { name: 'Pay (succeeds)' }).click()
    await page.waitForURL(/\/return\/pay_/)
    expect(await page.locator('h1').textContent()).toBe('Payment received')
    expect(seen.foreign).toEqual([])
    await context.close()
  })

  it('declines, then shows the failure honestly', async () => {
    const created = await product.app.api('/api/v1/codes', {
      json: { action: 'checkout', currency: 'jpy', amount: 500, description: 'Onigiri' },
    })
    const code = (await created.json()) as { slug: string }
    const { page, context } = await phonePage()
    await page.goto(`${product.app.origin}/${code.slug}`)
    expect(await page.locator('.amount').textContent()).toBe('500\u00a0¥')
    await page.getByRole('button', { name: /Pay/ }).click()
    await page.getByRole('button', { name: 'Decline (fails)' }).click()
    await page.waitForURL(/\/return\/pay_/)
    expect(await page.locator('h1').textContent()).toBe('Payment failed')
    await context.close()
  })
})
