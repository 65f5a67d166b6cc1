/**
 * Redirect destinations never point inside a network in production: loopback, private,
 * link-local, unique-local, metadata addresses and local names, in every notation the URL
 * parser accepts. Outside production they stay allowed, for testing against a local server.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { AdminClient } from '../admin/client'
import { call, createCode, newMerchant, ORIGIN, problemOf } from '../helpers'

/** Production as deployed: with its public origin set, so nothing else here depends on Host. */
const PRODUCTION = { ENVIRONMENT: 'production', PUBLIC_BASE_URL: ORIGIN }

const countCodes = async (merchantId: string) =>
  (
    await env.DB.prepare('select count(*) as n from codes where merchant_id = ?')
      .bind(merchantId)
      .first<{ n: number }>()
  )?.n

/** [destination as typed, the host the URL parser makes of it, the rule the refusal names]. */
const INTERNAL: [string, string, string][] = [
  ['https://localhost/', 'localhost', 'localhost'],
  ['http://localhost:8787/menu', 'localhost', 'localhost'],
  ['https://LOCALHOST./', 'localhost.', 'localhost'],
  ['https://shop.localhost/', 'shop.localhost', 'localhost'],
  ['https://127.0.0.1/', '127.0.0.1', 'a loopback address'],
  ['https://127.8.9.10/', '127.8.9.10', 'a loopback address'],
  ['https://2130706433/', '127.0.0.1', 'a loopback address'],
  ['https://0x7f000001/', '127.0.0.1', 'a loopback address'],
  ['https://0177.0.0.1/', '127.0.0.1', 'a loopback address'],
  ['https://127.1/', '127.0.0.1', 'a loopback address'],
  ['https://0x7f.1/', '127.0.0.1', 'a loopback address'],
  ['https://127.0.0.1./', '127.0.0.1', 'a loopback address'],
  ['https://[::1]/', '[::1]', 'a loopback address'],
  ['https://[0:0:0:0:0:0:0:1]/', '[::1]', 'a loopback address'],
  ['https://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]', 'a loopback address'],
  ['https://[::ffff:7f00:1]/', '[::ffff:7f00:1]', 'a loopback address'],
  ['https://[0:0:0:0:0:ffff:7f00:1]/', '[::ffff:7f00:1]', 'a loopback address'],
  ['https://[64:ff9b::127.0.0.1]/', '[64:ff9b::7f00:1]', 'a loopback address'],
  ['https://[2002:7f00:1::]/', '[2002:7f00:1::]', 'a loopback address'],
  ['https://10.0.0.1/', '10.0.0.1', 'a private-network address'],
  ['https://012.0.0.1/', '10.0.0.1', 'a private-network address'],
  ['https://172.16.5.4/', '172.16.5.4', 'a private-network address'],
  ['https://172.31.255.255/', '172.31.255.255', 'a private-network address'],
  ['https://192.168.1.1/', '192.168.1.1', 'a private-network address'],
  ['https://3232235777/', '192.168.1.1', 'a private-network address'],
  ['https://[::ffff:192.168.1.1]/', '[::ffff:c0a8:101]', 'a private-network address'],
  ['https://100.64.0.1/', '100.64.0.1', 'carrier-grade NAT'],
  ['https://100.127.255.254/', '100.127.255.254', 'carrier-grade NAT'],
  ['https://169.254.1.1/', '169.254.1.1', 'a link-local address'],
  ['https://[fe80::1]/', '[fe80::1]', 'a link-local address'],
  ['https://[febf:ffff::1]/', '[febf:ffff::1]', 'a link-local address'],
  ['https://[fc00::1]/', '[fc00::1]', 'a unique-local address'],
  ['https://[fd12:3456:789a::1]/', '[fd12:3456:789a::1]', 'a unique-local address'],
  ['https://0.0.0.0/', '0.0.0.0', 'an unspecified address'],
  ['https://0/', '0.0.0.0', 'an unspecified address'],
  ['https://[::]/', '[::]', 'an unspecified address'],
  ['https://169.254.169.254/latest/meta-data/', '169.254.169.254', 'a cloud metadata address'],
  ['https://0xa9fea9fe/', '169.254.169.254', 'a cloud metadata address'],
  ['https://2852039166/', '169.254.169.254', 'a cloud metadata address'],
  ['https://[::ffff:a9fe:a9fe]/', '[::ffff:a9fe:a9fe]', 'a cloud metadata address'],
  ['https://[fd00:ec2::254]/', '[fd00:ec2::254]', 'a cloud metadata address'],
  [
    'https://metadata.google.internal/computeMetadata/v1/',
    'metadata.google.internal',
    'a cloud metadata address',
  ],
  ['https://Metadata.Google.Internal./', 'metadata.google.internal.', 'a cloud metadata address'],
  ['https://printer.local/', 'printer.local', '.local'],
  ['https://224.0.0.1/', '224.0.0.1', 'a reserved or multicast address'],
  ['https://255.255.255.255/', '255.255.255.255', 'a reserved or multicast address'],
]

/** Public hosts next to the refused ranges: still destinations in production. */
const PUBLIC = [
  'https://example.com/menu',
  'https://172.32.0.1/',
  'https://172.15.255.255/',
  'https://100.128.0.1/',
  'https://11.0.0.1/',
  'https://169.253.0.1/',
  'https://8.8.8.8/',
  'https://localhost.example.com/',
  'https://mylocalhost.com/',
  'https://internal.example.com/',
]

describe('redirect destinations in production', () => {
  it.each(INTERNAL)('refuses %s (%s): %s, storing nothing', async (url, host, rule) => {
    const { key, merchantId } = await newMerchant()
    const response = await call('/api/v1/codes', {
      key,
      json: { action: 'redirect', destination_url: url, allow_http: true },
      env: PRODUCTION,
    })
    expect(response.status).toBe(400)
    const problem = await problemOf(response)
    expect(problem.code).toBe('validation_failed')
    expect(problem.errors).toHaveLength(1)
    expect(problem.errors?.[0]?.path).toBe('body.destination_url')
    expect(problem.detail).toContain('destination_url must be a public address')
    expect(problem.detail).toContain(`${host} is`)
    expect(problem.detail).toContain(rule)
    expect(await countCodes(merchantId)).toBe(0)
  })

  it.each(PUBLIC)('accepts the public address %s', async (url) => {
    const { key } = await newMerchant()
    const response = await call('/api/v1/codes', {
      key,
      json: { action: 'redirect', destination_url: url },
      env: PRODUCTION,
    })
    expect(response.status).toBe(201)
  })

  it('refuses changing a code to an internal address, leaving it and its audit log as they were', async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://e.com/' })
    const response = await call(`/api/v1/codes/${code.id}`, {
      key,
      method: 'PATCH',
      json: { destination_url: 'https://[::ffff:169.254.169.254]/' },
      env: PRODUCTION,
    })
    expect(response.status).toBe(400)
    expect((await problemOf(response)).detail).toContain('a cloud metadata address')
    const row = await env.DB.prepare(
      'select destination_url as url, version from codes where id = ?',
    )
      .bind(code.id)
      .first<{ url: string; version: number }>()
    expect(row).toEqual({ url: 'https://e.com/', version: 1 })
    const changes = await env.DB.prepare('select count(*) as n from code_changes where code_id = ?')
      .bind(code.id)
      .first<{ n: number }>()
    expect(changes?.n).toBe(0)
  })

  it('refuses a static code whose QR would hold an internal address', async () => {
    const { key, merchantId } = await newMerchant()
    const response = await call('/api/v1/codes', {
      key,
      json: { action: 'redirect', mode: 'static', destination_url: 'https://10.1.2.3/' },
      env: PRODUCTION,
    })
    expect(response.status).toBe(400)
    expect(await countCodes(merchantId)).toBe(0)
  })

  it('refuses it in the admin too, with the rule beside the field and nothing stored', async () => {
    const { key, merchantId } = await newMerchant()
    const admin = await AdminClient.signIn(key)
    admin.bindings = PRODUCTION
    const response = await admin.post('/admin/codes/new', {
      action: 'redirect',
      destination_url: 'http://2130706433/',
      allow_http: 'on',
    })
    expect(response.status).toBe(400)
    const html = await response.text()
    expect(html).toContain('destination_url must be a public address; 127.0.0.1 is a loopback')
    expect(await countCodes(merchantId)).toBe(0)
  })

  it("refuses it on the admin's edit form, even once confirmed, changing nothing", async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://e.com/' })
    const admin = await AdminClient.signIn(key)
    admin.bindings = PRODUCTION
    const response = await admin.post(`/admin/codes/${code.id}/edit`, {
      version: '1',
      destination_url: 'https://[fd00:ec2::254]/',
      expires_at: '',
      confirm: 'yes',
    })
    expect(response.status).toBe(409)
    expect(await response.text()).toContain('[fd00:ec2::254] is a cloud metadata address')
    const row = await env.DB.prepare('select destination_url as url from codes where id = ?')
      .bind(code.id)
      .first<{ url: string }>()
    expect(row?.url).toBe('https://e.com/')
  })
})

describe('redirect destinations outside production', () => {
  it.each(['http://localhost:8787/menu', 'http://127.0.0.1:8787/', 'http://192.168.1.20/'])(
    'accepts %s, for testing against a local server',
    async (url) => {
      const { key } = await newMerchant()
      const response = await call('/api/v1/codes', {
        key,
        json: { action: 'redirect', destination_url: url, allow_http: true },
      })
      expect(response.status).toBe(201)
      expect(env.ENVIRONMENT).not.toBe('production')
    },
  )
})
