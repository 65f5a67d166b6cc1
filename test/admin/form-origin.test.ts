/**
 * A form post the CSRF check refuses says why: sent without an Origin header (something removed
 * it), or from another site, naming both origins.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, newMerchant, ORIGIN } from '../helpers'
import { AdminClient } from './client'

/** Posts the settings form with the signed-in cookie and exactly `headers` besides. */
async function postSettings(admin: AdminClient, headers: Record<string, string>) {
  return call('/admin/settings', {
    method: 'POST',
    body: new URLSearchParams({ name: 'Renamed' }).toString(),
    headers: {
      cookie: admin.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      'cf-connecting-ip': admin.ip,
      ...headers,
    },
  })
}

async function renamed(merchantId: string) {
  const row = await env.DB.prepare('select name from merchants where id = ?')
    .bind(merchantId)
    .first<{ name: string }>()
  return row?.name === 'Renamed'
}

describe('a refused admin form post', () => {
  it('says it came without an Origin header, and changes nothing', async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const response = await postSettings(admin, {})
    expect(response.status).toBe(403)
    const page = await response.text()
    expect(page).toContain('The request is not valid')
    expect(page).toContain('This form was sent without an Origin header')
    expect(await renamed(merchantId)).toBe(false)
  })

  it('names the other site it came from and this one', async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const response = await postSettings(admin, { origin: 'https://evil.example' })
    expect(response.status).toBe(403)
    const page = await response.text()
    expect(page).toContain(
      `This form was sent from https://evil.example, not from this site (${ORIGIN})`,
    )
    expect(await renamed(merchantId)).toBe(false)
  })

  it('is accepted without an Origin header when the browser vouches it is same-origin', async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const response = await postSettings(admin, { 'sec-fetch-site': 'same-origin' })
    expect(response.status).not.toBe(403)
    expect(await renamed(merchantId)).toBe(true)
  })
})
