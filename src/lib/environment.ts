/**
 * Which deployment this is. Production turns off everything meant for local work (the test-mode
 * payment provider, local destinations, development rate-limit keys); tiny on purpose, since the
 * scan path and every checkout page ask.
 */

/** Takes any object with the variable (the bindings, or a test's), so it imports no types. */
export const isProduction = (env: { ENVIRONMENT?: string }) => env.ENVIRONMENT === 'production'
