import { afterEach, describe, expect, it, vi } from 'vitest'
import { log } from '../../src/lib/log'

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
