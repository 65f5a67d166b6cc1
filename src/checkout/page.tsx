/** The checkout page a customer sees after scanning a checkout code, and its honest alternatives. */
import type { ResolvedCode } from '../codes/queries'
import { currencyRule, formatMinor } from '../money/currency'
import { Layout } from '../pages/layout'
import { Payee } from '../pages/payee'
import { priceShown } from '../payments/price-shown'

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
        <Payee name={code.merchantName} domain={code.merchantDomain} />
        <h1>{code.description}</h1>
        <form method="post" action={`/${code.slug}/pay`}>
          <input type="hidden" name="price" value={priceShown(code)} />
          {/* The amount typed is read as this page wrote amounts (see parseMajorAmount). */}
          <input type="hidden" name="locale" value={locale} />
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
