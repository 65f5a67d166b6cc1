/**
 * The rate limits' client keys: in production the address Cloudflare's edge sets (an IPv6 client
 * by its /64); elsewhere a key named as a development one; never one bucket shared by every
 * client that sends no address.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Bindings } from '../../src/env'
import { clientKey } from '../../src/lib/client-address'
import { payForm } from '../checkout/support'
import { merchantWithCode, ORIGIN, postForm } from '../helpers'

const PRODUCTION = { ENVIRONMENT: 'production', PUBLIC_BASE_URL: ORIGIN }
const production = { ...env, ...PRODUCTION } as Bindings
const development = { ...env, ENVIRONMENT: 'development' } as Bindings

const from = (address?: string) =>
  new Request(`${ORIGIN}/admin/login`, {
    headers: address === undefined ? {} : { 'cf-connecting-ip': address },
  })

describe('clientKey', () => {
  it('is the address Cloudflare sets in production', () => {
    expect(clientKey(from('203.0.113.7'), production)).toBe('203.0.113.7')
  })

  it('counts an IPv6 client by its /64 in production, whichever address of it is used', () => {
    const one = clientKey(from('2001:db8:aa:bb::1'), production)
    expect(one).toBe('2001:db8:aa:bb::/64')
    expect(clientKey(from('2001:0db8:00aa:00bb:ffff:1:2:3'), production)).toBe(one)
    expect(clientKey(from('2001:db8:aa:bc::1'), production)).not.toBe(one)
  })

  it('gives each request without the address its own key in production, never a shared one', () => {
    const a = clientKey(from(), production)
    const b = clientKey(from(), production)
    expect(a).toMatch(/^unattributed:/)
    expect(b).not.toBe(a)
  })

  it('names the key as a development one outside production, one per request without a header', () => {
    expect(clientKey(from('198.51.100.4'), development)).toBe('dev:198.51.100.4')
    const a = clientKey(from(), development)
    expect(a).toMatch(/^dev:anonymous:/)
    expect(clientKey(from(), development)).not.toBe(a)
  })
})

/** Sign-in attempts with a wrong key until one is refused with 429 (at most `max`). */
async function attemptsUntilLimited(headers: () => Record<string, string>, max = 25) {
  for (let tries = 1; tries <= max; tries++) {
    const response = await postForm('/admin/login', 'api_key=nope', {
      headers: headers(),
      env: PRODUCTION,
    })
    if (response.status === 429) return tries
    expect(response.status).toBe(401)
  }
  return undefined
}

describe('the sign-in limit in production', () => {
  it('counts an IPv6 client rotating through its /64 as one client', async () => {
    let i = 0
    const tries = await attemptsUntilLimited(() => ({
      'cf-connecting-ip': `2001:db8:77:1:${(++i).toString(16)}::1`,
    }))
    // Fixed one-minute windows: 10 attempts, or up to 20 if a window turns over mid-test.
    expect(tries).toBeGreaterThanOrEqual(11)
    expect(tries).toBeLessThanOrEqual(21)
    // Another network is not affected.
    expect(await attemptsUntilLimited(() => ({ 'cf-connecting-ip': '2001:db8:77:2::1' }), 1)).toBe(
      undefined,
    )
  })

  it('puts no two requests without CF-Connecting-IP in one bucket', async () => {
    // On the old key ("unknown" for all of them) the 11th such attempt was refused, for everyone.
    expect(await attemptsUntilLimited(() => ({}))).toBe(undefined)
  })
})

describe('the pay limit outside production', () => {
  it('puts no two presses without CF-Connecting-IP in one bucket', async () => {
    const { code } = await merchantWithCode()
    for (let press = 1; press <= 15; press++) {
      const response = await payForm(code.slug)
      expect(response.status, `press ${press}`).toBe(303)
    }
  })
})
