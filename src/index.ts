/** The Worker's entry: the app, the daily retention job, and the Durable Object classes. */
import { createApp } from './app'

export { CodeHub } from './hub/code-hub'

const app = createApp()

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    // Loaded on demand: nothing of it belongs on the scan path's cold start.
    ctx.waitUntil(import('./stats/retention').then((m) => m.runRetention(env, controller)))
  },
} satisfies ExportedHandler<Env>
