/**
 * What the Worker's entry needs to route a request at startup (and the scan path uses), kept apart from the modules that
 * define them in full (code rules pull in currencies and errors; the stylesheet hashes its CSS):
 * what a slug looks like, the words it may never be, where the customer pages' CSS lives.
 */

/** Where the path of an absolute URL starts (the runtime hands request URLs over normalised). */
function pathStart(url: string): number {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  return start < 0 ? url.length : start
}

/** The path of a request URL, without parsing all of it (this runs on every request). */
export function pathOf(url: string): string {
  const start = pathStart(url)
  const query = url.indexOf('?', start)
  const hash = url.indexOf('#', start)
  const end = query < 0 ? hash : hash < 0 ? query : Math.min(query, hash)
  const path = end < 0 ? url.slice(start) : url.slice(start, end)
  return path || '/'
}

/** The origin of a request URL (scheme, host and port), likewise. */
export function originOf(url: string): string {
  return url.slice(0, pathStart(url))
}

/** Customer pages' stylesheets live under this prefix (pages/styles.ts adds the hash). */
export const CSS_PREFIX = '/assets/app.'

/** Crawlers' rules (the edge app answers it; its dot keeps it from ever looking like a slug). */
export const ROBOTS_PATH = '/robots.txt'

export const SLUG_PATTERN = '[A-Za-z0-9_-]{3,64}'

/** Words our own routes use at the root (and a few we may want later): never a slug. */
export const RESERVED_SLUGS = new Set([
  'api',
  'admin',
  'qr',
  'r',
  'docs',
  'openapi',
  'openapi.json',
  'webhooks',
  'assets',
  'static',
  'health',
  'healthz',
  'pay',
  'checkout',
  'receipt',
  'receipts',
  'login',
  'logout',
  'signin',
  'signout',
  'sign-in',
  'sign-out',
  'account',
  'settings',
  'dashboard',
  'billing',
  'help',
  'support',
  'status',
  'terms',
  'privacy',
  'security',
  'about',
  'test',
  'test-mode',
  'www',
  'app',
  'problems',
  'well-known',
  'robots',
  'favicon',
  'sitemap',
  'new',
  'edit',
  // Cloudflare answers /cdn-cgi/* at the edge before the Worker runs: such a code could never be
  // scanned.
  'cdn-cgi',
])
