import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { merchantWithCode } from '../helpers'
import { AdminClient } from './client'

const statusOf = async (id: string) =>
  (
    await env.DB.prepare('select status from codes where id = ?')
      .bind(id)
      .first<{ status: string }>()
  )?.status

describe('admin screens: bad input changes nothing and never errors', () => {
  it('answers malformed and unknown ids with 404 pages', async () => {
    const { key } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    for (const path of [
      '/admin/codes/nope',
      '/admin/codes/code_doesnotexist',
      '/admin/codes/nope/edit',
      '/admin/payments/nope',
    ]) {
      const response = await admin.get(path)
      expect(response.status, path).toBe(404)
      expect(response.headers.get('content-type')).toContain('text/html')
    }
  })

  it('ignores a status that is not one, and leaves the code as it was', async () => {
    const { key, code } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    const response = await admin.post(`/admin/codes/${code.id}/status`, { status: 'deleted' })
    expect(response.status).toBe(303)
    expect(await statusOf(code.id)).toBe('active')
  })

  it('ignores malformed payment filters instead of failing', async () => {
    const { key } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    for (const query of ['status=refunded', 'from=yesterday&to=%00', 'code_id=<script>']) {
      expect((await admin.get(`/admin/payments?${query}`)).status, query).toBe(200)
      const csv = await admin.get(`/admin/payments.csv?${query}`)
      expect(csv.status, query).toBe(200)
      expect((await csv.text()).startsWith('id,created_at,status')).toBe(true)
    }
  })

  it('cuts an over-long key name at 100 characters without splitting an emoji', async () => {
    const { key, merchantId } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    // The 100th UTF-16 unit is the first half of 😀: the name keeps 99, never a lone half.
    expect((await admin.post('/admin/settings/keys', { name: `${'k'.repeat(99)}😀` })).status).toBe(
      200,
    )
    const { results } = await env.DB.prepare(
      'select name from api_keys where merchant_id = ? order by created_at desc limit 1',
    )
      .bind(merchantId)
      .all<{ name: string }>()
    expect(results[0]?.name).toBe('k'.repeat(99))
  })

  it('refuses a key revocation with a malformed id and revokes nothing', async () => {
    const { key } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    expect((await admin.post('/admin/settings/keys/not-a-key/revoke')).status).toBe(303)
    expect((await admin.get('/admin')).status).toBe(200)
  })

  it('refuses an emptied description with a message, and keeps the code as it was', async () => {
    const { key, code } = await merchantWithCode()
    const admin = await AdminClient.signIn(key)
    const response = await admin.post(`/admin/codes/${code.id}/edit`, {
      version: '1',
      description: '',
      amount_type: 'fixed',
      amount: '4.50',
    })
    expect(response.status).toBe(400)
    expect(await response.text()).toContain('role="alert"')
    const row = await env.DB.prepare('select description, version from codes where id = ?')
      .bind(code.id)
      .first()
    expect(row).toEqual({ description: 'Flat white', version: 1 })
  })
})
