/**
 * Text customers read (a code's description, its reference) is saved in NFC and refused when it
 * carries direction controls, invisible or control characters, with a problem naming the rule
 * (docs/trust.md). A refused create or edit stores nothing.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, createCode, newMerchant, problemOf } from '../helpers'

const checkout = { action: 'checkout', currency: 'eur', amount: 450, description: 'Flat white' }

async function codeCount(merchantId: string) {
  const row = await env.DB.prepare('select count(*) as n from codes where merchant_id = ?')
    .bind(merchantId)
    .first<{ n: number }>()
  return row?.n ?? 0
}

describe('customer texts through the codes API', () => {
  it.each([
    [
      'a right-to-left override',
      { description: 'Invoice gnp.exe\u202E' },
      'text_bidi_control',
      'U+202E',
    ],
    ['a left-to-right isolate', { description: '\u2066Tea\u2069' }, 'text_bidi_control', 'U+2066'],
    ['a right-to-left mark', { description: 'Tea\u200F' }, 'text_bidi_control', 'U+200F'],
    ['an Arabic letter mark', { description: 'Tea\u061C' }, 'text_bidi_control', 'U+061C'],
    ['a zero-width space', { description: 'Te\u200Ba' }, 'text_invisible_character', 'U+200B'],
    ['a zero-width joiner', { description: 'Te\u200Da' }, 'text_invisible_character', 'U+200D'],
    ['a word joiner', { description: 'Te\u2060a' }, 'text_invisible_character', 'U+2060'],
    ['a byte order mark', { description: '\uFEFFTea' }, 'text_invisible_character', 'U+FEFF'],
    ['a tag character', { description: 'Tea\u{E0041}' }, 'text_invisible_character', 'U+E0041'],
    ['a bell', { description: 'Tea\u0007' }, 'text_control_character', 'U+0007'],
    ['a C1 control', { description: 'Tea\u0085' }, 'text_control_character', 'U+0085'],
    ['a line separator', { description: 'Tea\u2028large' }, 'text_control_character', 'U+2028'],
    ['an override in the reference', { reference: 'T-1\u202E' }, 'text_bidi_control', 'U+202E'],
    ['a line feed in the reference', { reference: 'T\n1' }, 'text_control_character', 'U+000A'],
  ])(
    'refuses a description or reference with %s, naming the rule, and stores nothing',
    async (_what, fields, rule, char) => {
      const { key, merchantId } = await newMerchant()
      const response = await call('/api/v1/codes', { key, json: { ...checkout, ...fields } })
      expect(response.status).toBe(400)
      const problem = await problemOf(response)
      expect(problem.code).toBe(rule)
      expect(problem.type).toBe(`urn:qrcheckout:problem:${rule}`)
      const field = Object.keys(fields)[0]
      expect(problem.errors).toEqual([
        { path: `body.${field}`, message: expect.stringContaining(char), code: rule },
      ])
      expect(problem.detail).toContain(char)
      expect(await codeCount(merchantId)).toBe(0)
    },
  )

  it('keeps line breaks and tabs in a description', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, { ...checkout, description: 'Flat white\r\n\tlarge' })
    expect(code.description).toBe('Flat white\r\n\tlarge')
  })

  it('stores descriptions and references in NFC', async () => {
    const { key } = await newMerchant()
    // "e" + combining acute accent: shown as "é", stored as the one character "é".
    const code = await createCode(key, {
      ...checkout,
      description: 'Cafe\u0301 au lait',
      reference: 'Re\u0301f-1',
    })
    expect(code.description).toBe('Café au lait')
    expect(code.reference).toBe('Réf-1')
    const stored = await env.DB.prepare('select description, reference from codes where id = ?')
      .bind(code.id)
      .first<{ description: string; reference: string }>()
    expect(stored).toEqual({ description: 'Café au lait', reference: 'Réf-1' })
  })

  it('keeps emoji with their variation selector (the emoji form of ☕)', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, { ...checkout, description: 'Coffee \u2615\uFE0F' })
    expect(code.description).toBe('Coffee \u2615\uFE0F')
  })

  it('answers validation_failed when several rules fail, each field naming its own', async () => {
    const { key } = await newMerchant()
    const response = await call('/api/v1/codes', {
      key,
      json: { ...checkout, currency: 'euro', description: 'Tea\u202E' },
    })
    const problem = await problemOf(response)
    expect(response.status).toBe(400)
    expect(problem.code).toBe('validation_failed')
    expect(problem.errors).toContainEqual({
      path: 'body.description',
      message: expect.stringContaining('U+202E'),
      code: 'text_bidi_control',
    })
    expect(problem.errors?.find((e) => e.path === 'body.currency')).not.toHaveProperty('code')
  })

  it('refuses an edit that adds an override, leaving the code as it was', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, checkout)
    const response = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { description: 'Flat \u202Eetihw', version: 1 },
    })
    expect(response.status).toBe(400)
    expect((await problemOf(response)).code).toBe('text_bidi_control')
    const after = (await (await call(`/api/v1/codes/${code.id}`, { key })).json()) as {
      description: string
      version: number
    }
    expect(after).toMatchObject({ description: 'Flat white', version: 1 })
    const changes = await env.DB.prepare('select count(*) as n from code_changes where code_id = ?')
      .bind(code.id)
      .first<{ n: number }>()
    expect(changes?.n).toBe(0)
  })
})
