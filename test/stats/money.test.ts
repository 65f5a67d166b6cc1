/**
 * The stats' money: per currency, what the payments paid in the range took and what has been
 * refunded of them, and how many were refunded, from D1 (recomputed from refunds, never twice).
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { chooseOutcome, pay } from '../checkout/support'
import { call, merchantWithCode } from '../helpers'

interface Stats {
  funnel: { paid: number; refunded: number }
  amounts: { currency: string; paid: number; refunded: number }[]
}

const statsOf = async (key: string, codeId: string) => {
  const res = await call(`/api/v1/codes/${codeId}/stats?interval=day`, { key })
  expect(res.status).toBe(200)
  return (await res.json()) as Stats
}

async function paidOnce(slug: string, codeId: string, seen: Set<string>) {
  await chooseOutcome((await pay(slug)).headers.get('location') ?? '', 'paid')
  const { results } = await env.DB.prepare('select id from payments where code_id = ?')
    .bind(codeId)
    .all<{ id: string }>()
  const id = results.map((r) => r.id).find((i) => !seen.has(i)) ?? ''
  seen.add(id)
  return id
}

describe('stats count paid and refunded amounts', () => {
  it('per currency, in minor units, with the refunded payments in the funnel', async () => {
    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    expect(await statsOf(key, code.id)).toMatchObject({ funnel: { refunded: 0 }, amounts: [] })

    const seen = new Set<string>()
    const first = await paidOnce(code.slug, code.id, seen)
    const second = await paidOnce(code.slug, code.id, seen)
    await paidOnce(code.slug, code.id, seen)
    const refund = (id: string, json: Record<string, unknown>) =>
      call(`/api/v1/payments/${id}/refunds`, { method: 'POST', key, json })
    expect((await refund(first, { amount: 200 })).status).toBe(201)
    expect((await refund(first, { amount: 50 })).status).toBe(201)
    expect((await refund(second, {})).status).toBe(201)
    // A failed refund (test mode: an amount ending in 13) counts for nothing.
    expect(
      (await (await refund(first, { amount: 13 })).json()) as { status: string },
    ).toMatchObject({ status: 'failed' })

    const stats = await statsOf(key, code.id)
    expect(stats.funnel).toMatchObject({ paid: 3, refunded: 2 })
    expect(stats.amounts).toEqual([{ currency: 'eur', paid: 1350, refunded: 700 }])
  })
})
