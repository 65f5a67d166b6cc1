/** Whether payments run for real: tiny on purpose, since every checkout page asks. */
import type { Bindings } from '../env'
import { isProduction } from '../lib/environment'

/** True when payments run through the offline test-mode provider (every page then says so). */
export const isTestMode = (env: Bindings) => !env.STRIPE_SECRET_KEY && !isProduction(env)
