/**
 * The admin's forms refuse customer texts that could imitate who is paid (docs/trust.md): a
 * merchant name with direction controls, invisible characters, a domain that is not its own
 * verified one, or a verification mark; a code description with direction controls. The form
 * comes back with the rule in words and nothing stored changes.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createApiKey, createMerchant } from '../../src/auth/queries'
import { createDb } from '../../src/db/client'
import { createCode, newMerchant } from '../helpers'
import { AdminClient } from './client'

/** Issue 21's imitation of Café Luna, with the overrides written as escapes. */
const IMITATION = 'Café Luna (demo) ✅ \u202Eelpmaxe.anulefac\u202C'

const merchantRow = (id: string) =>
  env.DB.prepare(
    'select name, display_domain, domain_token, domain_verified_at from merchants where id = ?',
  )
    .bind(id)
    .first()

/** A merchant whose display domain is verified (as the seed and the browser tests make one). */
async function verifiedMerchant(domain = 'cafeluna.example') {
  const db = createDb(env.DB)
  const merchantId = await createMerchant(db, {
    name: 'Café Luna',
    displayDomain: domain,
    domainVerified: true,
  })
  const { key } = await createApiKey(db, merchantId, 'test')
  return { merchantId, admin: await AdminClient.signIn(key) }
}

/** Saves Settings with `name` (keeping the verified domain); the status and the page. */
async function saveName(admin: AdminClient, name: string, domain = 'cafeluna.example') {
  const response = await admin.post('/admin/settings', { name, display_domain: domain })
  return { status: response.status, html: await response.text() }
}

describe('the merchant name in Settings', () => {
  it.each([
    ['the imitation of issue 21', IMITATION, 'direction controls such as U+202E'],
    ['a zero-width space inside a domain', 'cafeluna\u200B.example', 'invisible characters'],
    ['a word joiner', 'Café\u2060Luna', 'invisible characters such as U+2060'],
    ['a control character', 'Café\u0007Luna', 'control characters such as U+0007'],
    ['a domain', 'cafeluna.example', 'look like a web address (cafeluna.example)'],
    ['a www. address', 'www.x.com', 'look like a web address (www.x.com)'],
    ['a domain after the name', 'Café Luna – cafeluna.example', 'look like a web address'],
    ['a domain in full-width letters', 'ｃａｆｅｌｕｎａ．ｅｘａｍｐｌｅ', '(cafeluna.example)'],
    ['a domain with an ideographic full stop', 'cafeluna。example', '(cafeluna.example)'],
    ['a domain with a space before its dot', 'cafeluna .example', '(cafeluna.example)'],
    ['a domain with a thin space after its dot', 'cafeluna.\u2009example', '(cafeluna.example)'],
    ['an internationalised domain', 'café.example', '(xn--caf-dma.example)'],
    ['a check mark emoji', 'Café Luna ✅', 'verification-like mark (✅)'],
    ['a heavy check mark', '✔️ Café Luna', 'verification-like mark (✔)'],
    ['a ballot box with check', 'Café Luna ☑', 'verification-like mark (☑)'],
    ['a square root (a check look-alike)', 'Café Luna √', 'verification-like mark (√)'],
    ['a shield', 'Café Luna 🛡️', 'verification-like mark (🛡)'],
    ['a padlock', '🔒 Café Luna', 'verification-like mark (🔒)'],
    ['a private-use character', 'Café Luna \uF8FF', 'verification-like mark'],
    ['the word "verified"', 'Café Luna Verified', 'the word “verified”'],
    ['the word "verified", spaced out', 'Café Luna V e r i f i e d', 'the word “verified”'],
  ])('refuses %s, naming the rule, and changes nothing', async (_what, name, rule) => {
    const { merchantId, admin } = await verifiedMerchant()
    const before = await merchantRow(merchantId)
    // A new domain too: refused with the name, it is not saved either.
    const { status, html } = await saveName(admin, name, 'other.example')
    expect(status).toBe(400)
    expect(html).toContain('role="alert"')
    expect(html).toContain(rule)
    expect(await merchantRow(merchantId)).toEqual(before)
  })

  it.each([
    ['an abbreviation with a space', 'St. Pauli Café'],
    ['a number after a dot', 'No.1 Bakery'],
    ['a version number', 'Café 2.0'],
    ['initials', 'J.S. Bach Bistro'],
    ['a trailing abbreviation', 'Smith & Co.'],
    ['an emoji with its variation selector', 'Café Luna ☕️'],
    ['a right-to-left script', 'مقهى القمر'],
  ])('accepts %s', async (_what, name) => {
    const { merchantId, admin } = await verifiedMerchant()
    const { status, html } = await saveName(admin, name)
    expect(status, html).toBe(200)
    expect((await merchantRow(merchantId))?.name).toBe(name)
  })

  it('saves the name in NFC and without surrounding spaces', async () => {
    const { merchantId, admin } = await verifiedMerchant()
    expect((await saveName(admin, '  Cafe\u0301 Luna ')).status).toBe(200)
    expect((await merchantRow(merchantId))?.name).toBe('Café Luna')
  })

  it("accepts the merchant's own verified domain (and its www.) as its name, no other", async () => {
    const { merchantId, admin } = await verifiedMerchant()
    expect((await saveName(admin, 'CafeLuna.example')).status).toBe(200)
    expect((await merchantRow(merchantId))?.name).toBe('CafeLuna.example')
    expect((await saveName(admin, 'www.cafeluna.example')).status).toBe(200)
    expect((await saveName(admin, 'Café Luna (cafeluna.example)')).status).toBe(200)

    const other = await saveName(admin, 'luna.example')
    expect(other.status).toBe(400)
    expect(other.html).toContain('look like a web address (luna.example)')
    // Moving to another domain starts its verification over: the old domain is no longer the
    // merchant's verified one, so it cannot stay the name.
    const before = await merchantRow(merchantId)
    const moved = await saveName(admin, 'cafeluna.example', 'newluna.example')
    expect(moved.status).toBe(400)
    expect(await merchantRow(merchantId)).toEqual(before)
  })

  it('refuses a domain as the name while the domain is not verified yet', async () => {
    const { key, merchantId } = await newMerchant('Café Luna')
    const admin = await AdminClient.signIn(key)
    const before = await merchantRow(merchantId)
    const { status, html } = await saveName(admin, 'cafeluna.example')
    expect(status).toBe(400)
    expect(html).toContain('Your own domain can be your name once it is verified.')
    expect(await merchantRow(merchantId)).toEqual(before)
  })
})

describe('code descriptions in the admin forms', () => {
  it('refuses a new code whose description carries an override, creating nothing', async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    const response = await admin.post('/admin/codes/new', {
      action: 'checkout',
      mode: 'dynamic',
      description: 'Invoice gnp.exe\u202E',
      currency: 'eur',
      amount_type: 'fixed',
      amount: '4.50',
    })
    expect(response.status).toBe(400)
    expect(await response.text()).toContain('direction controls such as U+202E')
    const n = await env.DB.prepare('select count(*) as n from codes where merchant_id = ?')
      .bind(merchantId)
      .first<{ n: number }>()
    expect(n?.n).toBe(0)
  })

  it('refuses an edit that adds a zero-width space, leaving the code as it was', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, {
      action: 'checkout',
      currency: 'eur',
      amount: 450,
      description: 'Flat white',
    })
    const admin = await AdminClient.signIn(key)
    const response = await admin.post(`/admin/codes/${code.id}/edit`, {
      version: '1',
      description: 'Flat\u200B white',
      amount_type: 'fixed',
      amount: '4.50',
      amount_min: '',
      amount_max: '',
      max_payments: '',
      expires_at: '',
    })
    expect(response.status).toBe(400)
    expect(await response.text()).toContain('invisible characters such as U+200B')
    const row = await env.DB.prepare('select description, version from codes where id = ?')
      .bind(code.id)
      .first()
    expect(row).toEqual({ description: 'Flat white', version: 1 })
  })
})
