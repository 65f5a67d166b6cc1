/**
 * A checkout code whose merchant cannot be paid now (platform mode, its Stripe account not able
 * to take charges): the page the customer sees instead of a pay button, and after pressing pay
 * on a page shown before. Known from D1 alone: no Stripe call, nothing recorded.
 */
import type { StatusPageProps } from '../pages/layout'

/** 503: temporary (the merchant can finish onboarding), so nobody caches it. */
export function merchantNotReady(
  merchantName: string,
  testMode = false,
): { status: 503; page: StatusPageProps } {
  return {
    status: 503,
    page: {
      testMode,
      icon: 'warning',
      title: "This merchant can't take payments right now",
      message: `${merchantName} cannot receive card payments here yet. Nothing was charged; please pay another way or ask staff.`,
    },
  }
}
