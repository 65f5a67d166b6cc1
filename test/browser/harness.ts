/**
 * The product as a browser meets it: the bundle `wrangler deploy` would upload, running in workerd
 * (miniflare) with a fresh in-memory D1 and Durable Objects, a merchant and an API key, and Debian's
 * Chromium driven by playwright-core. Shares the bench's workerd launcher.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/d1'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { bundle, ROOT } from '../../bench/build'
import { applyMigrations, d1Of, readAppConfig, startWorker } from '../../bench/workerd'
import { createApiKey, createMerchant } from '../../src/auth/queries'
import type { Db } from '../../src/db/client'
import * as schema from '../../src/db/schema'

export const ARTIFACTS = join(ROOT, 'test', 'artifacts')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export interface App {
  origin: string
  apiKey: string
  /** The app's D1, for rows no request would write (an old row, saved before today's rules). */
  db: Db
  api(path: string, init?: { method?: string; json?: unknown }): Promise<Response>
  dispose(): Promise<void>
}

/** `vars` are added to (or replace) the fixed ones below, e.g. to point the Stripe SDK at a fake. */
export async function startApp(options: { vars?: Record<string, string> } = {}): Promise<App> {
  const config = readAppConfig(join(ROOT, 'wrangler.toml'))
  const built = bundle({
    config: join(ROOT, 'wrangler.toml'),
    outdir: mkdtempSync(join(tmpdir(), 'qrc-browser-')),
  })
  const running = await startWorker({
    scriptPath: built.main,
    compatibilityDate: config.runtimeCompatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
    workerOptions: config.workerOptions,
    // No Stripe key: payments use the test-mode provider. Fixed secrets, and the optional ones
    // blank: wrangler reads .dev.vars into `workerOptions`, and nothing from it may count here.
    vars: {
      VISITOR_HASH_SECRET: 'browser-visitor',
      SESSION_SECRET: 'browser-session',
      LIVE_TOKEN_SECRET: 'browser-live',
      ENVIRONMENT: 'development',
      STRIPE_SECRET_KEY: '',
      STRIPE_WEBHOOK_SECRET: '',
      STRIPE_API_HOST: '',
      STRIPE_API_PORT: '',
      STRIPE_API_PROTOCOL: '',
      DNS_RESOLVER_URL: '',
      ...options.vars,
    },
  })
  const d1 = await d1Of(running, config.d1Binding)
  await applyMigrations(d1, config.migrationsDir)
  const db = drizzle(d1 as never, { schema }) as unknown as Db
  const merchantId = await createMerchant(db, {
    name: 'Café Luna',
    displayDomain: 'cafeluna.example',
    domainVerified: true,
  })
  const { key } = await createApiKey(db, merchantId, 'browser')
  // `localhost` is a secure context for Chromium, so the admin's __Host-/Secure cookie works over http.
  const origin = `http://localhost:${running.url.port}`
  return {
    origin,
    apiKey: key,
    db,
    api: (path, init = {}) =>
      fetch(`${running.url.origin}${path}`, {
        method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      }),
    dispose: () => running.dispose(),
  }
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM)
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  })
}

export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
}
export const LAPTOP = { viewport: { width: 1440, height: 900 } }
/** Headless Chromium says so in its user agent, and bots are kept out of human counts. */
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1'

/** Records CSP violations and requests to anyone but us, for every page of a context. */
export function watch(origin: string) {
  const violations: string[] = []
  const foreign: string[] = []
  const errors: string[] = []
  return {
    violations,
    foreign,
    errors,
    init: () => {
      const w = window as unknown as { __csp: string[] }
      w.__csp = []
      document.addEventListener('securitypolicyviolation', (e) => {
        w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`)
      })
    },
    onRequest: (url: string) => {
      if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:'))
        foreign.push(url)
    },
    onConsole: (type: string, text: string) => {
      if (type === 'error') errors.push(text)
      if (/Content Security Policy/i.test(text)) violations.push(text)
    },
  }
}

/**
 * The product and a browser for one test file: started before its tests, stopped after. Read
 * `product.app` and `product.browser` inside tests (they exist once `beforeAll` has run).
 */
export function useProduct(): { app: App; browser: Browser } {
  const product = {} as { app: App; browser: Browser }
  beforeAll(async () => {
    if (!chromiumAvailable()) {
      throw new Error('Chromium is missing: apt-get install -y chromium (see .ci/run)')
    }
    product.app = await startApp()
    product.browser = await launchBrowser()
  }, 120_000)
  afterAll(async () => {
    await product.browser?.close()
    await product.app?.dispose()
  })
  return product
}

/** A new page whose CSP violations, console errors and foreign requests are recorded. */
export async function watchedPage(context: BrowserContext, origin: string) {
  const seen = watch(origin)
  await context.addInitScript(seen.init)
  const page = await context.newPage()
  page.on('request', (r) => seen.onRequest(r.url()))
  page.on('console', (m) => seen.onConsole(m.type(), m.text()))
  return { page, seen }
}

/** Violations reported to the page itself (`securitypolicyviolation` events). */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)
}
