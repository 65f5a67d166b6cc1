/** The checkout page a customer sees after scanning a checkout code, and its honest alternatives. */
import type { ResolvedCode } from '../codes/queries'
import { currencyRule, formatMinor } from '../money/currency'
import { Layout, type StatusPageProps } from '../pages/layout'

export interface CheckoutPageProps {
  code: ResolvedCode
  locale: string
  testMode: boolean
  /** Shown above the amount field after a rejected submission. */
  error?: string
  /** What the customer typed, to keep it in the field. */
  amountInput?: string
}

export function CheckoutPage(props: CheckoutPageProps) {
  const { code, locale } = props
  const currency = code.currency ?? 'usd'
  const money = (minor: number) => formatMinor(minor, currency, locale)
  const open = code.amount === null
  const exponent = currencyRule(currency)?.exponent ?? 2
  return (
    <Layout title={`Pay ${code.merchantName}`} testMode={props.testMode}>
      <div class="card">
        <p class="muted">You are paying</p>
        <p class="payee">{code.merchantName}</p>
        {code.merchantDomain ? <span class="domain">{code.merchantDomain}</span> : null}
        <h1>{code.description}</h1>
        <form method="post" action={`/${code.slug}/pay`}>
          {open ? (
            <>
              <label for="amount">
                Amount ({currency.toUpperCase()}, {money(code.amountMin ?? 0)} to{' '}
                {money(code.amountMax ?? 0)})
              </label>
              {props.error ? (
                <p class="error" id="amount-error" role="alert">
                  {props.error}
                </p>
              ) : null}
              <input
                id="amount"
                name="amount"
                inputmode={exponent === 0 ? 'numeric' : 'decimal'}
                autocomplete="transaction-amount"
                required
                value={props.amountInput ?? ''}
                aria-describedby={props.error ? 'amount-error' : undefined}
              />
            </>
          ) : (
            <p class="amount">{money(code.amount ?? 0)}</p>
          )}
          {!open && props.error ? (
            <p class="error" role="alert">
              {props.error}
            </p>
          ) : null}
          <button class="button" type="submit">
            {open ? 'Pay' : `Pay ${money(code.amount ?? 0)}`}
          </button>
        </form>
        <p class="muted">
          {props.testMode
            ? 'Test mode: you will choose whether the payment succeeds.'
            : 'Card, Apple Pay or Google Pay on Stripe’s secure page.'}
        </p>
      </div>
      <footer>qrcheckout</footer>
    </Layout>
  )
}

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
        icon: '⌛',
        title: 'This code has ended',
        message: `${who} no longer uses this code. Ask them for a current one.`,
      },
    }
  }
  if (code.status === 'paused') {
    return {
      status: 503,
      page: {
        icon: '⏸',
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
        icon: '✅',
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

/** The customer's locale from Accept-Language, falling back to English when unusable. */
export function customerLocale(acceptLanguage: string | undefined): string {
  const first = acceptLanguage?.split(',')[0]?.split(';')[0]?.trim()
  if (!first) return 'en'
  try {
    return Intl.NumberFormat.supportedLocalesOf([first])[0] ?? 'en'
  } catch {
    return 'en'
  }
}
