import type { TestProject } from 'vitest/node'
import { startFakeStripe } from './fakes/stripe-server'

/** One fake Stripe for the run; tests reach it through the real SDK over HTTP. */
export default async function setup(project: TestProject) {
  const { server, port } = await startFakeStripe()
  project.provide('stripePort', port)
  return () => new Promise<void>((resolve) => server.close(() => resolve()))
}
