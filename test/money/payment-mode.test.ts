/** The two payment modes and the platform fee, as configuration reads them (money/payment-mode.ts). */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Bindings } from '../../src/env'
import {
  payability,
  paymentMode,
  platformFee,
  platformFeeTerms,
} from '../../src/money/payment-mode'

const withVars = (vars: Partial<Bindings>) => ({ ...env, ...vars }) as Bindings
const ready = { stripeAccountId: 'acct_1', stripeChargesEnabled: true }

describe('payment modes', () => {
  it('is one business by default, platform only when PAYMENT_MODE says so', () => {
    expect(paymentMode(withVars({}))).toBe('one_business')
    expect(paymentMode(withVars({ PAYMENT_MODE: '' }))).toBe('one_business')
    expect(paymentMode(withVars({ PAYMENT_MODE: 'platform' }))).toBe('platform')
    // A Connect secret alone never changes who receives the money.
    expect(paymentMode(withVars({ STRIPE_CONNECT_WEBHOOK_SECRET: 'whsec_x' }))).toBe('one_business')
    expect(paymentMode(withVars({ PAYMENT_MODE: 'Platform!' }))).toBeNull()
  })

  it('pays the deployment in one-business mode, whatever a merchant connected', () => {
    const none = { stripeAccountId: null, stripeChargesEnabled: false }
    expect(payability(withVars({}), none)).toEqual({ payable: true, account: null })
    expect(payability(withVars({}), ready)).toEqual({ payable: true, account: null })
  })

  it('pays a ready connected account in platform mode, and says why not otherwise', () => {
    const platform = withVars({ PAYMENT_MODE: 'platform' })
    expect(payability(platform, ready)).toEqual({ payable: true, account: 'acct_1' })
    expect(payability(platform, { stripeAccountId: null, stripeChargesEnabled: false })).toEqual({
      payable: false,
      reason: 'no_payment_account',
    })
    expect(
      payability(platform, { stripeAccountId: 'acct_1', stripeChargesEnabled: false }),
    ).toEqual({ payable: false, reason: 'account_not_ready' })
  })

  it('takes no payment at all when the mode or the fee cannot be read', () => {
    for (const vars of [
      { PAYMENT_MODE: 'platfrom' },
      { PAYMENT_MODE: 'platform', PLATFORM_FEE_BPS: '2.5' },
      { PAYMENT_MODE: 'platform', PLATFORM_FEE_BPS: '10001' },
      { PAYMENT_MODE: 'platform', PLATFORM_FEE_FIXED: 'eur=30' },
      { PAYMENT_MODE: 'platform', PLATFORM_FEE_FIXED: 'eur:30,eur:40' },
      { PAYMENT_MODE: 'platform', PLATFORM_FEE_FIXED: 'eur:-1' },
    ]) {
      expect(payability(withVars(vars), ready), JSON.stringify(vars)).toEqual({
        payable: false,
        reason: 'payments_not_configured',
      })
    }
  })
})

describe('the platform fee', () => {
  const terms = (bps: string, fixed = '') =>
    platformFeeTerms(withVars({ PLATFORM_FEE_BPS: bps, PLATFORM_FEE_FIXED: fixed }))

  it('is basis points rounded down plus the currency’s fixed part, in minor units', () => {
    const t = terms('290', 'eur:30, USD:30,jpy:50')
    if (!t) throw new Error('terms not read')
    expect(platformFee(t, 450, 'eur')).toBe(13 + 30) // 2.9 % of €4.50 is 13.05 cents
    expect(platformFee(t, 1000, 'usd')).toBe(29 + 30)
    expect(platformFee(t, 500, 'jpy')).toBe(14 + 50) // ¥, zero-decimal: 14.5 → 14
    expect(platformFee(t, 1250, 'kwd')).toBe(36) // no fixed part for KWD
  })

  it('is 0 when not configured, and never more than the amount', () => {
    const none = terms('')
    if (!none) throw new Error('terms not read')
    expect(platformFee(none, 450, 'eur')).toBe(0)
    const steep = terms('0', 'eur:500')
    if (!steep) throw new Error('terms not read')
    expect(platformFee(steep, 50, 'eur')).toBe(50)
  })
})
