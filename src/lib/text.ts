import { z } from '@hono/zod-openapi'
import { customerTextProblem } from './text-rules'

/**
 * Text people send us must be valid Unicode: D1 stores text as UTF-8, which cannot hold a lone
 * UTF-16 surrogate ("\ud800" in JSON). One would come back as three U+FFFD, longer than the limit
 * it was checked against, so every later edit that re-sends it would be refused.
 */
const isWellFormed = (text: string) => !/\p{Cs}/u.test(text)

/** The schema of a string a person wrote, for every API field of free text. */
export const text = () =>
  z.string().refine(isWellFormed, 'must be valid Unicode text (no lone surrogate such as \\ud800)')

/**
 * The schema of text a merchant types and customers read (a code's description, its reference,
 * the merchant's name): well-formed, stored in NFC (one spelling of "é", so what is compared and
 * counted is what is shown), and refused when it breaks a rule of text-rules.ts. Refusals carry the rule as
 * `params.rule`, which the API's validation hook turns into the problem's code.
 */
export const customerText = (options: { multiline?: boolean } = {}) =>
  text()
    .normalize('NFC')
    .superRefine((value, ctx) => {
      const problem = customerTextProblem(value, options)
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem.message, params: { rule: problem.rule } })
      }
    })

/** The text rule a zod issue reports, if it is one of ours (see `customerText`). */
export function ruleOf(issue: { code: string; params?: Record<string, unknown> }) {
  const rule = issue.code === 'custom' ? issue.params?.rule : undefined
  return typeof rule === 'string' ? rule : undefined
}

/** The first `max` UTF-16 units of `text`, never ending inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  const cut = text.slice(0, max)
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut
}
