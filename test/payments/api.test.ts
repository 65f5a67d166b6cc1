import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { chooseOutcome, pay } from '../checkout/support'
import { call, createCode, merchantWithCode, newMerchant, ORIGIN, problemOf } from '../helpers'

/** Pays a code through the test-mode provider with the given outcome; returns the payment id. */
async function payOffline(slug: string, outcome: 'paid' | 'failed' | 'none') {
  const pressed = await pay(slug)
  if (outcome !== 'none') await chooseOutcome(pressed.headers.get('location') ?? '', outcome)
  const row = await env.DB.prepare(
    'select id from payments order by created_at desc, id desc limit 1',
  ).first<{ id: string }>()
  return row?.id ?? ''
}

describe('payments API', () => {
  it('lists payments newest first, with filters and a cursor, and reads one', async () => {
    const { key } = await newMerchant()
    const coffee = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Coffee',
    })
    const cake = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 380,
      description: 'Cake',
    })
    const ids = [
      await payOffline(coffee.slug, 'paid'),
      await payOffline(cake.slug, 'failed'),
      await payOffline(coffee.slug, 'none'),
    ]
    const all = (await (await call('/api/v1/payments', { key })).json()) as {
      data: { id: string }[]
    }
    expect(all.data.map((p) => p.id)).toEqual([...ids].reverse())

    const paid = (await (await call('/api/v1/payments?status=paid', { key })).json()) as {
      data: Record<string, unknown>[]
    }
    expect(paid.data).toHaveLength(1)
    expect(paid.data[0]).toMatchObject({
      id: ids[0],
      object: 'payment',
      amount: 450,
      currency: 'eur',
      status: 'paid',
      provider: 'test',
      payment_method: { brand: 'visa', last4: '4242' },
      receipt_url: expect.stringMatching(new RegExp(`^${ORIGIN}/r/rcpt_`)),
    })

    const ofCoffee = (await (
      await call(`/api/v1/payments?code_id=${coffee.id}`, { key })
    ).json()) as {
      data: { code_id: string }[]
    }
    expect(ofCoffee.data.map((p) => p.code_id)).toEqual([coffee.id, coffee.id])

    const first = (await (await call('/api/v1/payments?limit=2', { key })).json()) as {
      data: { id: string }[]
      next_cursor: string
    }
    const second = (await (
      await call(`/api/v1/payments?limit=2&cursor=${first.next_cursor}`, { key })
    ).json()) as {
      data: { id: string }[]
      next_cursor: string | null
    }
    expect([...first.data, ...second.data].map((p) => p.id)).toEqual([...ids].reverse())
    expect(second.next_cursor).toBeNull()

    const future = (await (
      await call('/api/v1/payments?from=2099-01-01T00:00:00Z', { key })
    ).json()) as {
      data: unknown[]
    }
    expect(future.data).toHaveLength(0)

    const one = await call(`/api/v1/payments/${ids[1]}`, { key })
    expect(await one.json()).toMatchObject({ id: ids[1], status: 'failed', receipt_url: null })
  })

  it.each([
    '?status=chargeback',
    '?code_id=nope',
    '?from=yesterday',
    '?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z',
    '?limit=500',
    '?cursor=%%%',
    '?amount=5',
  ])('rejects %s with a problem', async (query) => {
    const { key } = await newMerchant()
    const response = await call(`/api/v1/payments${query}`, { key })
    expect(response.status).toBe(400)
    expect((await problemOf(response)).code).toBe('validation_failed')
  })

  it("keeps merchants apart: another merchant's payment is a 404 and never listed", async () => {
    const alice = await newMerchant('Alice')
    const bob = await newMerchant('Bob')
    const code = await createCode(alice.key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'x',
    })
    const id = await payOffline(code.slug, 'paid')
    const peek = await call(`/api/v1/payments/${id}`, { key: bob.key })
    expect(peek.status).toBe(404)
    expect((await problemOf(peek)).code).toBe('not_found')
    const list = (await (await call('/api/v1/payments', { key: bob.key })).json()) as {
      data: unknown[]
    }
    expect(list.data).toHaveLength(0)
    const filtered = (await (
      await call(`/api/v1/payments?code_id=${code.id}`, { key: bob.key })
    ).json()) as {
      data: unknown[]
    }
    expect(filtered.data).toHaveLength(0)
  })

  it('requires an API key', async () => {
    expect((await call('/api/v1/payments')).status).toBe(401)
    expect((await call('/api/v1/payments/pay_x')).status).toBe(401)
  })
})

describe('limited codes (max_payments) in the codes API', () => {
  it('accepts max_payments on checkout codes and refuses it on redirect codes', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 12000,
      description: 'Invoice 2026-114',
      max_payments: 1,
    })
    expect(code.max_payments).toBe(1)
    const redirect = await call('/api/v1/codes', {
      key,
      json: { action: 'redirect', destination_url: 'https://example.com', max_payments: 1 },
    })
    expect(redirect.status).toBe(400)
    const zero = await call('/api/v1/codes', {
      key,
      json: { action: 'checkout', currency: 'eur', amount: 100, description: 'x', max_payments: 0 },
    })
    expect(zero.status).toBe(400)
  })

  it('shows a sold-out page once the limit is paid, and refuses to pay again', async () => {
    const { code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 12000,
      description: 'Invoice 2026-114',
      max_payments: 1,
    })
    await payOffline(code.slug, 'paid')
    const page = await call(`/${code.slug}`)
    expect(page.status).toBe(410)
    expect(await page.text()).toContain('already been paid')
    const again = await pay(code.slug)
    expect(again.status).toBe(410)
    const { results } = await env.DB.prepare('select status from payments where code_id = ?')
      .bind(code.id)
      .all()
    expect(results).toEqual([{ status: 'paid' }])
  })
})
