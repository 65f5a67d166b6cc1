import type { StatusPageProps } from '../pages/layout'
import type { ResolvedCode } from './queries'

/**
 * Why a code cannot take a scan or a payment right now, as a page and a status; null when it can.
 * Paused is 503 (temporary: the merchant can resume, and caches must not keep it); archived,
 * expired and sold out are 410 (gone for good unless the merchant changes the code).
 */
export function unavailable(
  code: ResolvedCode,
  at: number,
): { status: 410 | 503; page: StatusPageProps } | null {
  const who = code.merchantName
  if (code.status === 'archived' || (code.expiresAt !== null && code.expiresAt <= at)) {
    return {
      status: 410,
      page: {
        icon: 'hourglass',
        title: 'This code has ended',
        message: `${who} no longer uses this code. Ask them for a current one.`,
      },
    }
  }
  if (code.status === 'paused') {
    return {
      status: 503,
      page: {
        icon: 'pause',
        title: 'This code is paused',
        message: `${who} has paused this code for now. Please try again later or ask staff.`,
      },
    }
  }
  if (
    code.action === 'checkout' &&
    code.maxPayments !== null &&
    code.paidCount >= code.maxPayments
  ) {
    return {
      status: 410,
      page: {
        icon: 'check',
        title: code.maxPayments === 1 ? 'This has already been paid' : 'Sold out',
        message:
          code.maxPayments === 1
            ? `This code was for a single payment to ${who}, and it has been paid.`
            : `${who} has received all the payments this code allows.`,
      },
    }
  }
  return null
}
