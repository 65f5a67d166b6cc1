/**
 * The admin's refund button: a confirm step, then one refund (a resubmitted confirmation refunds
 * once), shown with who made it; the customer's receipt shows it.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { chooseOutcome, pay } from '../checkout/support'
import { call, merchantWithCode } from '../helpers'
import { AdminClient } from './client'

async function paidTestPayment(amount = 450) {
  const { key, code } = await merchantWithCode({
    action: 'checkout',
    currency: 'eur',
    amount,
    description: 'Flat white',
  })
  await chooseOutcome((await pay(code.slug)).headers.get('location') ?? '', 'paid')
  const payment = (await env.DB.prepare('select id, receipt_id from payments where code_id = ?')
    .bind(code.id)
    .first()) as { id: string; receipt_id: string }
  return { key, payment, admin: await AdminClient.signIn(key) }
}

const hidden = (html: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''

describe('refunding from the admin', () => {
  it('asks to confirm, refunds once, shows who refunded, and the receipt shows it', async () => {
    const { payment, admin } = await paidTestPayment()
    const page = await (await admin.get(`/admin/payments/${payment.id}`)).text()
    expect(page).toContain('Refund…')

    const confirm = await admin.post(`/admin/payments/${payment.id}/refund`, {
      amount: '2.00',
      reason: 'requested_by_customer',
    })
    expect(confirm.status).toBe(200)
    const form = await confirm.text()
    expect(form).toContain('Confirm the refund')
    // Nothing is refunded before the confirmation.
    const none = await env.DB.prepare('select count(*) as n from refunds where payment_id = ?')
      .bind(payment.id)
      .first<{ n: number }>()
    expect(none?.n).toBe(0)

    const fields = {
      amount_minor: hidden(form, 'amount_minor'),
      reason: hidden(form, 'reason'),
      key: hidden(form, 'key'),
      confirm: '1',
    }
    expect(fields.amount_minor).toBe('200')
    const done = await admin.post(`/admin/payments/${payment.id}/refund`, fields)
    expect(done.status).toBe(303)
    // A double click: the same confirmation again refunds nothing more.
    expect((await admin.post(`/admin/payments/${payment.id}/refund`, fields)).status).toBe(303)

    const rows = await env.DB.prepare('select * from refunds where payment_id = ?')
      .bind(payment.id)
      .all<{ amount: number; status: string; actor: string }>()
    expect(rows.results).toHaveLength(1)
    expect(rows.results[0]).toMatchObject({ amount: 200, status: 'succeeded' })
    expect(rows.results[0]?.actor).toMatch(/^admin:/)

    const after = await (await admin.get(`/admin/payments/${payment.id}`)).text()
    expect(after).toContain('partially_refunded')
    expect(after).toContain(rows.results[0]?.actor ?? '?')
    const csv = await (await admin.get('/admin/payments.csv')).text()
    expect(csv.split('\r\n')[0]).toContain('refunded_minor,dispute_status')
    expect(csv).toContain('partially_refunded')
    expect(csv.split('\r\n')[1]?.split(',').slice(-2)).toEqual(['200', ''])
    const receipt = await (await call(`/r/${payment.receipt_id}`)).text()
    expect(receipt).toContain('Refunded')
    expect(receipt).toContain('€2.00')
  })

  it('shows a failed refund as failed, and refuses more than remains with a page', async () => {
    const { payment, admin } = await paidTestPayment()
    const confirm = await (
      await admin.post(`/admin/payments/${payment.id}/refund`, { amount: '0.13' })
    ).text()
    await admin.post(`/admin/payments/${payment.id}/refund`, {
      amount_minor: hidden(confirm, 'amount_minor'),
      reason: '',
      key: hidden(confirm, 'key'),
      confirm: '1',
    })
    const page = await (await admin.get(`/admin/payments/${payment.id}`)).text()
    expect(page).toContain('badge failed')
    const tooMuch = await admin.post(`/admin/payments/${payment.id}/refund`, { amount: '9.00' })
    expect(tooMuch.status).toBe(400)
    expect(await tooMuch.text()).toContain('remains to refund')
    const garbage = await admin.post(`/admin/payments/${payment.id}/refund`, { amount: 'lots' })
    expect(garbage.status).toBe(400)
  })
})

describe('reopening a limited code’s slot from the admin', () => {
  it('offers the checkbox for a limited code only; checked, the code is payable again', async () => {
    const plain = await paidTestPayment()
    const unlimited = await (
      await plain.admin.post(`/admin/payments/${plain.payment.id}/refund`, { amount: '1.00' })
    ).text()
    expect(unlimited).not.toContain('name="reopen_slot"')

    const { key, code } = await merchantWithCode({
      action: 'checkout',
      currency: 'eur',
      amount: 500,
      description: 'Ticket',
      max_payments: 1,
    })
    await chooseOutcome((await pay(code.slug)).headers.get('location') ?? '', 'paid')
    const { id } = (await env.DB.prepare('select id from payments where code_id = ?')
      .bind(code.id)
      .first()) as { id: string }
    const admin = await AdminClient.signIn(key)
    const form = await (await admin.post(`/admin/payments/${id}/refund`, { amount: '5.00' })).text()
    expect(form).toContain('name="reopen_slot"')
    const done = await admin.post(`/admin/payments/${id}/refund`, {
      amount_minor: hidden(form, 'amount_minor'),
      reason: '',
      key: hidden(form, 'key'),
      confirm: '1',
      reopen_slot: '1',
    })
    expect(done.status).toBe(303)
    const row = await env.DB.prepare('select actor, reopen_slot from refunds where payment_id = ?')
      .bind(id)
      .first<{ actor: string; reopen_slot: number }>()
    expect(row).toMatchObject({ reopen_slot: 1, actor: expect.stringMatching(/^admin:/) })
    expect(await (await admin.get(`/admin/payments/${id}`)).text()).toContain('reopens the slot')
    expect((await pay(code.slug, {}, {})).status).toBe(303)
  })
})
