import { describe, expect, it } from 'vitest'
import { formatterCount, isTimeZone } from '../../src/stats/tz'

describe('time zones', () => {
  it('accepts any spelling Intl does, and holds a bounded number of formatters', () => {
    const spell = (i: number) =>
      [...'europe/berlin'].map((ch, j) => ((i >> j) & 1 ? ch.toUpperCase() : ch)).join('')
    for (let i = 0; i < 1_000; i++) expect(isTimeZone(spell(i))).toBe(true)
    expect(formatterCount()).toBeLessThanOrEqual(200)
    expect(isTimeZone('Mars/Olympus')).toBe(false)
  })
})
