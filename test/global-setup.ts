import type { TestProject } from 'vitest/node'
import { startFakeDns } from './fakes/dns-server'
import { startFakeStripe } from './fakes/stripe-server'

/** One fake Stripe and one fake DNS resolver for the run; tests reach them over HTTP. */
export default async function setup(project: TestProject) {
  const stripe = await startFakeStripe()
  const dns = await startFakeDns()
  project.provide('stripePort', stripe.port)
  project.provide('dnsPort', dns.port)
  const close = (server: typeof stripe.server) =>
    new Promise<void>((resolve) => server.close(() => resolve()))
  return () => Promise.all([close(stripe.server), close(dns.server)]).then(() => {})
}
