/** The checkout page a customer sees after scanning a checkout code. */
import type { ResolvedCode } from '../codes/queries'
import { formatMinor } from '../money/currency'
import { Layout } from '../pages/layout'

export function CheckoutPage(props: { code: ResolvedCode; locale: string }) {
  const { code, locale } = props
  const currency = code.currency ?? 'usd'
  const amount =
    code.amount !== null
      ? formatMinor(code.amount, currency, locale)
      : `${formatMinor(code.amountMin ?? 0, currency, locale)} – ${formatMinor(code.amountMax ?? 0, currency, locale)}`
  return (
    <Layout title={`Pay ${code.merchantName}`}>
      <div class="card">
        <p class="muted">You are paying</p>
        <p class="payee">{code.merchantName}</p>
        {code.merchantDomain ? <span class="domain">{code.merchantDomain}</span> : null}
        <p class="amount">{amount}</p>
        {code.amount === null ? (
          <p class="muted">You choose the amount within this range.</p>
        ) : null}
        <h1>{code.description}</h1>
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
