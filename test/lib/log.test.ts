import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { log } from '../../src/lib/log'
import { call, createCode, newMerchant, problemOf, replaceMethod } from '../helpers'
import { loggedText, logLines } from '../logs'

afterEach(() => vi.restoreAllMocks())

/** The one line the logger wrote through `method`, parsed. */
function lineOf(method: 'info' | 'warn' | 'error', write: () => void) {
  const spy = vi.spyOn(console, method).mockImplementation(() => {})
  write()
  expect(spy).toHaveBeenCalledTimes(1)
  const [text] = spy.mock.calls[0] ?? []
  expect(typeof text).toBe('string')
  expect(String(text)).not.toContain('\n')
  return JSON.parse(String(text))
}

describe('the structured logger', () => {
  it('writes one JSON line with the event, its level and its fields', () => {
    const line = lineOf('info', () => log.info('holds reconciled', { checked: 3, strays: 0 }))
    expect(line).toEqual({ level: 'info', event: 'holds reconciled', checked: 3, strays: 0 })
  })

  it('writes an error with its name, message, stack and cause', () => {
    const err = new TypeError('boom', { cause: new Error('root') })
    const line = lineOf('error', () =>
      log.error('payment not recorded', { paymentId: 'pay_1' }, err),
    )
    expect(line.level).toBe('error')
    expect(line.paymentId).toBe('pay_1')
    expect(line.error.name).toBe('TypeError')
    expect(line.error.message).toBe('boom')
    expect(line.error.stack).toContain('boom')
    expect(line.error.cause.message).toBe('root')
  })

  it('writes warnings to the warning stream, and values that are not errors as they are', () => {
    const line = lineOf('warn', () => log.warn('domain check failed', { domain: 'a.example' }, 'x'))
    expect(line).toMatchObject({ level: 'warn', domain: 'a.example', error: 'x' })
  })

  it('still writes a line for fields that cannot be serialised', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const line = lineOf('error', () => log.error('odd', { cyclic, big: 1n }))
    expect(line.event).toBe('odd')
  })
})

describe('the log lines of a request', () => {
  it('writes a crash as one JSON line with the route, and the error with its stack, never the path', async () => {
    const receipt = 'rcpt_logged0000000000000001'
    const down = replaceMethod(env.DB, 'prepare', () => () => {
      throw new Error('D1_ERROR: database unavailable')
    })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const response = await call(`/r/${receipt}`, { env: { DB: down } })
    expect(response.status).toBe(500)
    const lines = logLines(error)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 'error',
      event: 'unhandled error',
      method: 'GET',
      route: '/r/:receiptId',
      error: { name: 'Error', message: 'D1_ERROR: database unavailable' },
    })
    expect(lines[0]?.error?.stack).toContain('D1_ERROR: database unavailable')
    expect(loggedText(error) + loggedText(warn)).not.toContain(receipt)
  })

  it("writes an unreachable hub as one JSON line naming the code, with the error's stack", async () => {
    const { key } = await newMerchant()
    const code = await createCode(key, { action: 'redirect', destination_url: 'https://e.com' })
    const unreachable = replaceMethod(env.CODE_HUB, 'get', (get) => (id, opts) => {
      const stub = get(id, opts)
      const lost = { fetch: () => Promise.reject(new Error('Network connection lost.')) }
      return lost as unknown as typeof stub
    })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const response = await call(`/api/v1/codes/${code.id}/live`, {
      key,
      headers: { upgrade: 'websocket' },
      env: { CODE_HUB: unreachable },
    })
    expect(response.status).toBe(503)
    expect((await problemOf(response)).code).toBe('temporarily_unavailable')
    const lines = logLines(error)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 'error',
      event: 'live feed: hub unreachable',
      codeId: code.id,
      error: { message: 'Network connection lost.' },
    })
    expect(lines[0]?.error?.stack).toContain('Network connection lost.')
    expect(loggedText(error)).not.toContain(key)
  })
})
