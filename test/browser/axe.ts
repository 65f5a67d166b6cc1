/**
 * An accessibility audit of the page a test is on: axe-core with the WCAG 2.1 A and AA rules.
 * Our pages allow no inline script, so axe is not added as a `<script>`: Playwright evaluates it
 * through the DevTools protocol, which the page's CSP does not govern, and each audit checks that
 * the page reported no CSP violation.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AxeResults, RunOptions } from 'axe-core'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import { cspViolations } from './harness'

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

const WCAG_21_AA: RunOptions = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  resultTypes: ['violations'],
}

/** Each violation as `rule (impact) selector: what to fix`, one line per element. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async (options) => {
    const { axe } = window as unknown as {
      axe: { run(context: Document, options: RunOptions): Promise<AxeResults> }
    }
    return (await axe.run(document, options)).violations
  }, WCAG_21_AA)
  return violations.flatMap((rule) =>
    rule.nodes.map(
      (node) =>
        `${rule.id} (${rule.impact}) ${node.target.join(' ')}: ${node.failureSummary ?? rule.help}`,
    ),
  )
}

/**
 * Audits the page and records its violations under `where` without stopping the test, so one run
 * lists every page that fails; the page's CSP must not have objected to anything, axe included.
 */
export async function expectAccessible(page: Page, where: string) {
  expect.soft(await axeViolations(page), `axe on ${where}`).toEqual([])
  expect(await cspViolations(page), `CSP violations on ${where}`).toEqual([])
}
