import { z } from '@hono/zod-openapi'

/**
 * Text people send us must be valid Unicode: D1 stores text as UTF-8, which cannot hold a lone
 * UTF-16 surrogate ("\ud800" in JSON). One would come back as three U+FFFD, longer than the limit
 * it was checked against, so every later edit that re-sends it would be refused.
 */
const isWellFormed = (text: string) => !/\p{Cs}/u.test(text)

/** The schema of a string a person wrote, for every API field of free text. */
export const text = () =>
  z.string().refine(isWellFormed, 'must be valid Unicode text (no lone surrogate such as \\ud800)')

/** The first `max` UTF-16 units of `text`, never ending inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  const cut = text.slice(0, max)
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut
}
