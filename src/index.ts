/** The Worker's entry: the app, and (from the real-time issue on) the Durable Object classes. */
import { createApp } from './app'

export default createApp() satisfies ExportedHandler<Env>
