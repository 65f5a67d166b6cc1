import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import {
  call,
  createCode,
  merchantWithCode,
  newMerchant,
  postForm,
  replaceMethod,
} from '../helpers'
import { loggedText, logLines } from '../logs'
import { chooseOutcome, pay } from './support'

async function paymentRows(codeId: string) {
  const { results } = await env.DB.prepare(
    'select * from payments where code_id = ? order by created_at',
  )
    .bind(codeId)
    .all()
  return results as Record<string, unknown>[]
}

/** Follows the whole offline flow: pay → test checkout → outcome → return page. */
async function payInTestMode(
  slug: string,
  outcome: 'paid' | 'failed',
  fields: Record<string, string> = {},
) {
  const pressed = await pay(slug, fields)
  expect(pressed.status).toBe(303)
  const checkoutUrl = new URL(pressed.headers.get('location') ?? '')
  expect(checkoutUrl.pathname).toMatch(/^\/test-mode\/checkout\/test_cs_/)
  const page = await call(checkoutUrl.pathname)
  expect(page.status).toBe(200)
  const html = await page.text()
  expect(html).toContain('TEST MODE')
  const done = await chooseOutcome(checkoutUrl.href, outcome, { email: 'ana@example.com' })
  expect(done.status).toBe(303)
  const returnPath = done.headers.get('location') ?? ''
  expect(returnPath).toMatch(new RegExp(`^/${slug}/return/pay_`))
  return { returnPath, html }
}

describe('checkout in test mode (no Stripe key): the whole flow offline', () => {
  it('shows a pay button and the TEST MODE banner on the checkout page', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    const html = await (await call(`/${code.slug}`)).text()
    expect(html).toContain(`action="/${code.slug}/pay"`)
    expect(html).toContain('Pay €4.50')
    expect(html).toContain('TEST MODE')
  })

  it('pays a fixed amount: pending → paid, with a receipt', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    const { returnPath } = await payInTestMode(code.slug, 'paid')
    const [payment] = await paymentRows(code.id)
    expect(payment).toMatchObject({
      status: 'paid',
      amount: 450,
      currency: 'eur',
      provider: 'test',
      code_version: 1,
    })
    expect(payment?.customer_email).toBe('ana@example.com')

    const confirmation = await call(returnPath)
    const html = await confirmation.text()
    expect(html).toContain('Payment received')
    // Its mark is drawn, not an emoji (an empty box without an emoji font).
    expect(html).toContain('<svg class="i-check"')
    expect(html).not.toMatch(/\p{Extended_Pictographic}/u)
    const receiptPath = /href="(\/r\/rcpt_[0-9A-Za-z]{22})"/.exec(html)?.[1]
    expect(receiptPath).toBeDefined()
    const receipt = await (await call(receiptPath ?? '')).text()
    expect(receipt).toContain('Café Luna')
    expect(receipt).toContain('Flat white')
    expect(receipt).toContain('€4.50')
    expect(receipt).toContain('•••• 4242')
    expect(receipt).toContain(String(payment?.id))
    expect(receipt).toContain('TEST')
  })

  it('records a declined payment as failed and offers to try again', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'usd',
      amount: 900,
      description: 'Lunch',
    })
    const { returnPath } = await payInTestMode(code.slug, 'failed')
    expect((await paymentRows(code.id))[0]?.status).toBe('failed')
    const html = await (await call(returnPath)).text()
    expect(html).toContain('Payment failed')
    const receiptId = (await paymentRows(code.id))[0]?.receipt_id
    expect((await call(`/r/${receiptId}`)).status).toBe(404)
  })

  it('takes an open amount in major units within the bounds', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'usd',
      amount_min: 100,
      amount_max: 5000,
      description: 'Tip',
    })
    await payInTestMode(code.slug, 'paid', { amount: '12,50' })
    expect((await paymentRows(code.id))[0]).toMatchObject({ amount: 1250, status: 'paid' })
  })

  it.each([
    ['below the minimum', '0.99', 'at least $1.00'],
    ['above the maximum', '50.01', 'at most $50.00'],
    ['not a number', 'ten', 'Enter an amount'],
    ['too many decimals', '1.005', 'at most 2 decimals'],
    ['empty', '', 'Enter an amount'],
  ])(
    're-shows the page with a message for an amount %s, and creates nothing',
    async (_n, amount, message) => {
      const { code } = await merchantWithCode({
        action: 'checkout',
        currency: 'usd',
        amount_min: 100,
        amount_max: 5000,
        description: 'Tip',
      })
      const response = await pay(code.slug, { amount })
      expect(response.status).toBe(422)
      const html = await response.text()
      expect(html).toContain(message)
      expect(html).toContain('role="alert"')
      expect(await paymentRows(code.id)).toHaveLength(0)
    },
  )

  it('never lets the client change a fixed amount', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    const response = await pay(code.slug, { amount: '0.01', currency: 'jpy' })
    expect(response.status).toBe(303)
    expect((await paymentRows(code.id))[0]).toMatchObject({ amount: 450, currency: 'eur' })
  })

  it('re-reads the code: an edit made a moment ago is what gets charged', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    await call(`/${code.slug}`) // warms the caches
    await env.DB.prepare('update codes set amount = 500, version = version + 1 where id = ?')
      .bind(code.id)
      .run()
    await pay(code.slug)
    expect((await paymentRows(code.id))[0]).toMatchObject({ amount: 500, code_version: 2 })
  })

  it('shows the new price instead of charging it when it changed while the page was open', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    const shown = await (await call(`/${code.slug}`)).text()
    const price = /name="price" value="([^"]*)"/.exec(shown)?.[1] ?? ''
    expect(price).not.toBe('')
    const edit = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { amount: 520 },
    })
    expect(edit.status).toBe(200)
    const stale = await pay(code.slug, { price })
    expect(stale.status).toBe(409)
    const page = await stale.text()
    expect(page).toContain('The price changed')
    expect(page).toContain('€5.20')
    expect(await paymentRows(code.id)).toEqual([])
    // The page it answered with carries the new price: paying from it goes through.
    const fresh = /name="price" value="([^"]*)"/.exec(page)?.[1] ?? ''
    expect((await pay(code.slug, { price: fresh })).status).toBe(303)
    expect((await paymentRows(code.id))[0]).toMatchObject({ amount: 520 })
  })

  it('shows the price instead of charging when the form does not say which price it showed', async () => {
    const fixed = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    const open = await merchantWithCode({
      action: 'checkout',
      currency: 'usd',
      amount_min: 100,
      amount_max: 2000,
      description: 'Tip',
    })
    for (const [code, fields, amount] of [
      [fixed.code, {}, '€4.50'],
      [open.code, { amount: '12.00' }, '$1.00'],
    ] as const) {
      const bare = await postForm(`/${code.slug}/pay`, fields)
      expect(bare.status).toBe(400)
      const page = await bare.text()
      expect(page).toContain('Check the price, then pay.')
      expect(page).toContain(amount)
      if (fields.amount) expect(page).toContain(`value="${fields.amount}"`)
      expect(await paymentRows(code.id)).toEqual([])
      // The page it answered with carries the price field: paying from it goes through.
      const price = /name="price" value="([^"]*)"/.exec(page)?.[1] ?? ''
      expect(price).toMatch(/^[0-9a-f]{32}$/)
      expect((await postForm(`/${code.slug}/pay`, { ...fields, price })).status).toBe(303)
      expect(await paymentRows(code.id)).toHaveLength(1)
    }
  })

  it('takes payment for a description with a line break, as the browser sends the form back', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white\nlarge',
    })
    const shown = await (await call(`/${code.slug}`)).text()
    const price = /name="price" value="([^"]*)"/.exec(shown)?.[1] ?? ''
    expect(price).toMatch(/^[0-9a-f]{32}$/)
    expect((await pay(code.slug, { price })).status).toBe(303)
  })

  it('refuses cross-site form posts (CSRF)', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    const response = await postForm(`/${code.slug}/pay`, '', {
      headers: { origin: 'https://evil.example' },
    })
    expect(response.status).toBe(403)
    expect(await paymentRows(code.id)).toHaveLength(0)
  })

  it('shows honest pages instead of paying paused, archived, unknown and redirect codes', async () => {
    const { key } = await newMerchant()
    const paused = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
      status: 'paused',
    })
    expect((await pay(paused.slug)).status).toBe(503)
    const archived = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    await call(`/api/v1/codes/${archived.id}`, { key, method: 'DELETE' })
    expect((await pay(archived.slug)).status).toBe(410)
    expect((await pay('nosuchcode')).status).toBe(404)
    const redirect = await createCode(key, {
      action: 'redirect',
      destination_url: 'https://example.com',
    })
    expect((await pay(redirect.slug)).status).toBe(404)
    expect(await paymentRows(paused.id)).toHaveLength(0)
  })

  it('refuses to run in production without a Stripe key', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    const response = await pay(code.slug, {}, { ENVIRONMENT: 'production' })
    expect(response.status).toBe(503)
    expect(await response.text()).not.toContain('TEST MODE')
    expect(await paymentRows(code.id)).toHaveLength(0)
    const page = await call('/test-mode/checkout/test_cs_anything', {
      env: { ENVIRONMENT: 'production' },
    })
    expect(page.status).toBe(404)
  })

  it('answers unknown payments, receipts and test sessions with 404 pages', async () => {
    for (const path of [
      '/abcdefgh/return/pay_0000000000000000000000',
      '/abcdefgh/return/nope',
      '/r/rcpt_0000000000000000000000',
      '/r/<script>',
      '/test-mode/checkout/test_cs_0000000000000000000000',
      '/test-mode/checkout/cs_live_x',
    ]) {
      const response = await call(path)
      expect(response.status, path).toBe(404)
      expect(response.headers.get('content-type')).toContain('text/html')
    }
  })

  it('takes no route word for a slug: the one 404, problem+json under /api and /webhooks', async () => {
    for (const [method, path] of [
      ['POST', '/api/pay'],
      ['GET', '/api/return/pay_0000000000000000000000'],
      ['GET', '/api/cancel/pay_0000000000000000000000'],
      ['GET', '/webhooks/cancel/x'],
      ['POST', '/webhooks/pay'],
    ] as const) {
      const response = method === 'POST' ? await postForm(path, { price: 'x' }) : await call(path)
      expect(response.status, path).toBe(404)
      expect(response.headers.get('content-type'), path).toBe('application/problem+json')
    }
    for (const [method, path] of [
      ['POST', '/docs/pay'],
      ['GET', '/docs/cancel/x'],
    ] as const) {
      const response = method === 'POST' ? await postForm(path, { price: 'x' }) : await call(path)
      expect(response.status, path).toBe(404)
      expect(await response.text(), path).toContain('There is nothing at this address')
    }
  })

  it('logs an unexpected failure by its route, never the receipt id the path carries', async () => {
    const receipt = 'rcpt_0000000000000000000001'
    const d1 = replaceMethod(env.DB, 'prepare', () => () => {
      throw new Error('D1_ERROR: database unavailable')
    })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const response = await call(`/r/${receipt}`, { env: { DB: d1 } })
      expect(response.status).toBe(500)
      expect(await response.text()).toContain('Something went wrong')
      expect(logLines(errors)).toEqual([
        expect.objectContaining({
          event: 'unhandled error',
          method: 'GET',
          route: '/r/:receiptId',
          error: expect.objectContaining({ message: 'D1_ERROR: database unavailable' }),
        }),
      ])
      // Not in a field, not in the error: nowhere in what was written.
      expect(loggedText(errors)).not.toContain(receipt)
    } finally {
      errors.mockRestore()
    }
  })

  it('asks again when the test checkout is posted without an outcome, changing nothing', async () => {
    const { code } = await merchantWithCode()
    const pressed = await pay(code.slug)
    const response = await postForm(new URL(pressed.headers.get('location') ?? '').pathname, {
      outcome: 'maybe',
    })
    expect(response.status).toBe(422)
    expect((await paymentRows(code.id))[0]?.status).toBe('pending')
  })

  it('sends a cancel of an unknown or malformed payment back to the code, changing nothing', async () => {
    const { code } = await merchantWithCode()
    await pay(code.slug)
    for (const id of ['pay_0000000000000000000000', 'nope']) {
      const response = await call(`/${code.slug}/cancel/${id}`)
      expect(response.status).toBe(303)
      expect(response.headers.get('location')).toBe(`/${code.slug}`)
    }
    expect((await paymentRows(code.id))[0]?.status).toBe('pending')
  })

  it('cancel sends the customer back and closes the open session', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    await pay(code.slug)
    const [payment] = await paymentRows(code.id)
    const response = await call(`/${code.slug}/cancel/${payment?.id}`)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(`/${code.slug}`)
    expect((await paymentRows(code.id))[0]?.status).toBe('expired')
  })
})
