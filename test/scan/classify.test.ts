import { describe, expect, it } from 'vitest'
import { classifyClient } from '../../src/scan/classify'
import { IPHONE, SLACKBOT } from '../hub/fixtures'

describe('classifying who scanned', () => {
  it('tells a phone from a link preview, and a missing user agent is a bot', () => {
    expect(classifyClient(IPHONE)).toMatchObject({ device: 'mobile', isBot: false })
    expect(classifyClient(SLACKBOT)).toMatchObject({ device: 'bot', isBot: true })
    expect(classifyClient(null)).toMatchObject({ device: 'unknown', isBot: true })
  })

  it('gives null, never an empty name, for a browser or OS the parser does not know', () => {
    expect(classifyClient('curl/8.5.0')).toEqual({
      device: 'bot',
      browser: null,
      os: null,
      isBot: true,
    })
    expect(classifyClient(IPHONE)).toMatchObject({ browser: 'Safari', os: 'iOS' })
  })

  it('remembers a user agent by its first 1,024 characters only, whatever the header size', () => {
    const padded = (tail: string) => `${IPHONE} ${'x'.repeat(2_000)}${tail}`
    const first = classifyClient(padded('a'))
    // Same first 1,024 characters: the remembered entry, not a second one holding 2 KB more.
    expect(classifyClient(padded('b'))).toBe(first)
    expect(first).toMatchObject({ device: 'mobile', isBot: false })
  })
})
