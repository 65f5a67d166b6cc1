import { describe, expect, it } from 'vitest'
import { lazy } from '../../src/lib/lazy'
import { originOf, pathOf } from '../../src/lib/paths'

describe('request URL parts without a URL parser', () => {
  it('agree with URL on what the runtime hands over', () => {
    for (const url of [
      'https://qr.example.com/abc123',
      'https://qr.example.com/abc123?utm_source=poster&x=/y',
      'https://qr.example.com/abc123#top',
      'https://qr.example.com/a?b#c',
      'http://localhost:8787/',
      'http://localhost:8787',
      'https://qr.example.com/api/v1/codes?limit=2',
    ]) {
      const parsed = new URL(url)
      expect(pathOf(url), url).toBe(parsed.pathname)
      expect(originOf(url), url).toBe(parsed.origin)
    }
  })
})

describe('lazy', () => {
  it('loads once, then answers synchronously; a failed load is tried again', async () => {
    let calls = 0
    const value = lazy(async () => {
      calls++
      if (calls === 1) throw new Error('first load fails')
      return 42
    })
    expect(value.now()).toBeUndefined()
    await expect(value.get()).rejects.toThrow('first load fails')
    expect(await value.get()).toBe(42)
    expect(await value.get()).toBe(42)
    expect(value.now()).toBe(42)
    expect(calls).toBe(2)
  })
})
