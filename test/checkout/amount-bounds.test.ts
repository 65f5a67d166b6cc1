/**
 * The bounds of an open amount, paid through the real pay route and the real Stripe SDK against the
 * in-repo fake: exactly `amount_min` and exactly `amount_max` are charged as typed, one minor unit
 * outside either is refused before anything is created. Issue 19 item 9: no test paid a bound
 * exactly, so an off-by-one in the route's comparison (`<` for `<=`) went unnoticed.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { hubFor } from '../../src/hub/client'
import { formatMinor } from '../../src/money/currency'
import { merchantWithCode } from '../helpers'
import { shownNumber } from '../money/shown'
import { pay, stripeEnv, stripeRequests } from './support'

async function paymentRows(codeId: string) {
  const { results } = await env.DB.prepare('select * from payments where code_id = ?')
    .bind(codeId)
    .all<{ id: string; amount: number; currency: string; status: string }>()
  return results
}

/** Checkout Sessions the fake Stripe was asked to create for this code. */
async function sessionsFor(codeId: string) {
  return (await stripeRequests()).filter(
    (r) =>
      r.path === '/v1/checkout/sessions' &&
      (r.params.metadata as Record<string, unknown> | undefined)?.code_id === codeId,
  )
}

/** An open-amount code in `currency`, paid by typing `minor` as the English page shows it. */
async function payOpen(currency: string, min: number, max: number, minor: number) {
  const { code } = await merchantWithCode({
    action: 'checkout',
    currency,
    amount_min: min,
    amount_max: max,
    description: 'Tip',
  })
  const typed = shownNumber(minor, currency, 'en')
  const response = await pay(code.slug, { amount: typed, locale: 'en' }, stripeEnv())
  return { code, typed, response }
}

// Bounds above each currency's own Stripe minimum, so only the code's bounds can refuse.
const CURRENCIES = [
  ['USD (2 decimals)', 'usd', 100, 5_000],
  ['JPY (zero-decimal)', 'jpy', 100, 10_000],
  ['KWD (3 decimals)', 'kwd', 1_000, 90_000],
] as const

describe.each(CURRENCIES)('an open %s amount', (_name, currency, min, max) => {
  it.each([
    ['amount_min', min],
    ['amount_max', max],
  ])('charges exactly %s (%i minor units)', async (_bound, minor) => {
    const { code, response } = await payOpen(currency, min, max, minor)
    expect(response.status).toBe(303)
    const [payment, ...others] = await paymentRows(code.id)
    expect(others).toEqual([])
    expect(payment).toMatchObject({ amount: minor, currency, status: 'pending' })
    const [created] = await sessionsFor(code.id)
    expect(created?.idempotencyKey).toBe(payment?.id)
    const items = created?.params.line_items as { price_data: Record<string, unknown> }[]
    expect(items[0]?.price_data).toMatchObject({ currency, unit_amount: String(minor) })
  })

  it.each([
    ['below amount_min', min - 1, `at least ${formatMinor(min, currency, 'en')}`],
    ['above amount_max', max + 1, `at most ${formatMinor(max, currency, 'en')}`],
  ])('refuses one minor unit %s (%i), creating nothing', async (_side, minor, message) => {
    const { code, response } = await payOpen(currency, min, max, minor)
    expect(response.status).toBe(422)
    expect(await response.text()).toContain(message)
    expect(await paymentRows(code.id)).toEqual([])
    expect(await sessionsFor(code.id)).toEqual([])
    expect((await hubFor(env, code.id).counters()).pay_pressed).toBe(0)
  })
})
