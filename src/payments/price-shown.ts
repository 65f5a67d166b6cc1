/**
 * Nothing is charged but the price the customer was shown: the checkout page sends this digest
 * back with the pay form, and paying compares it with the code's price now.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import type { ResolvedCode } from '../codes/queries'

/**
 * A digest of what the customer is shown they will pay, so a price edited while the page was open
 * is not charged without the customer seeing it. A hex digest rather than the text: browsers
 * rewrite a description's line breaks in form values.
 */
export function priceShown(
  code: Pick<ResolvedCode, 'currency' | 'amount' | 'amountMin' | 'amountMax' | 'description'>,
): string {
  const shown = JSON.stringify([
    code.currency,
    code.amount,
    code.amountMin,
    code.amountMax,
    code.description,
  ])
  return bytesToHex(sha256(utf8ToBytes(shown))).slice(0, 32)
}
