/**
 * Which deployment this is. Production turns off everything meant for local work (the test-mode
 * payment provider, local destinations, development rate-limit keys); tiny on purpose, since the
 * scan path and every checkout page ask.
 */
import type { Bindings } from '../env'

export const isProduction = (env: Pick<Bindings, 'ENVIRONMENT'>) => env.ENVIRONMENT === 'production'
