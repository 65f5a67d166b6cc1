/**
 * The bench's baseline: the cheapest Worker that does the same job as a scan, a bare Hono app
 * answering every request with a constant 302. `npm run bench` bundles it with the app's own
 * compatibility date and flags and runs it in the same workerd as the app, so each scenario is
 * reported as a ratio to it.
 */
import { Hono } from 'hono'

const app = new Hono()

app.all('*', (c) => c.redirect('https://example.com/', 302))

export default app
