/**
 * What the Worker's entry needs to route a request at startup, kept apart from the modules that
 * define them in full (code rules pull in currencies and errors; the stylesheet hashes its CSS):
 * what a slug looks like, the words it may never be, where the customer pages' CSS lives.
 */

/** Customer pages' stylesheets live under this prefix (pages/styles.ts adds the hash). */
export const CSS_PREFIX = '/assets/app.'

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
])
