/**
 * The API reference as a browser meets it with every other origin unreachable (offline, or a CDN
 * down or blocked): the whole reference shows, styled, with no script, no CSP violation and no
 * request anywhere but our origin; it passes axe on a phone and a laptop.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expectAccessible } from './axe'
import { ARTIFACTS, cspViolations, LAPTOP, PHONE, useProduct, watchedPage } from './harness'

const product = useProduct()

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace']

describe('the API reference at /docs', () => {
  it.each([
    ['laptop', LAPTOP],
    ['phone', PHONE],
  ])(
    'shows every operation on a %s with other origins blocked, with no CSP violation',
    async (device, options) => {
      const spec = (await (await product.app.api('/openapi.json')).json()) as {
        paths: Record<string, Record<string, unknown>>
      }
      const expected = Object.entries(spec.paths).flatMap(([path, item]) =>
        METHODS.filter((m) => m in item).map((m) => `${m.toUpperCase()} ${path}`),
      )

      const context = await product.browser.newContext(options)
      const blocked: string[] = []
      const origin = product.app.origin
      await context.route('**/*', (route) => {
        const url = route.request().url()
        if (url.startsWith(`${origin}/`) || url.startsWith('data:')) return route.continue()
        blocked.push(url)
        return route.abort('blockedbyclient')
      })
      const { page, seen } = await watchedPage(context, origin)
      const response = await page.goto(`${origin}/docs`)
      expect(response?.status()).toBe(200)

      const operations = page.locator('section.operation')
      const shown = await operations.evaluateAll((sections) =>
        sections.map((s) => s.getAttribute('data-operation')),
      )
      expect(shown.sort()).toEqual([...expected].sort())
      await expect.poll(() => operations.first().isVisible()).toBe(true)
      expect(await page.locator('h1').textContent()).toContain('qrcheckout API')
      // Our stylesheet applied (a GET badge is green), though nothing else could load.
      const badge = page.locator('section.operation .method.get').first()
      expect(await badge.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(
        'rgb(23, 98, 58)',
      )
      expect(await page.locator('script').count()).toBe(0)

      // The contents link to each operation's anchor.
      await page.getByRole('link', { name: /Create a code/ }).click()
      await page.waitForURL(/#op-post-api-v1-codes$/)
      const top = () =>
        page.locator('#op-post-api-v1-codes').evaluate((el) => el.getBoundingClientRect().top)
      await expect.poll(top).toBeGreaterThanOrEqual(0)
      await expect.poll(top).toBeLessThan(100)

      await page.screenshot({ path: join(ARTIFACTS, `docs-${device}.png`) })
      await expectAccessible(page, `the API reference on a ${device}`)
      expect(await cspViolations(page)).toEqual([])
      expect(seen.violations).toEqual([])
      expect(seen.errors).toEqual([])
      expect(seen.foreign).toEqual([])
      expect(blocked).toEqual([])
      await context.close()
    },
  )
})
