/**
 * Who is paid, as every customer page shows it: the merchant's name, then either its verified
 * domain in a drawn badge (an SVG mark, the word "Verified", the domain) or "Unverified merchant"
 * beside the name. Nothing a merchant types can draw the badge: it is markup and styles of ours
 * (a bordered, tinted box with a vector mark), while the name is plain text in its own line, and
 * names cannot carry domains, check marks or the word "verified" (auth/merchant-name.ts).
 */
import { plainText } from '../lib/text-rules'

export interface PayeeProps {
  name: string
  /** The merchant's verified domain, or null: never a domain that is not verified. */
  domain: string | null
  /** The name is the page's heading (the receipt). */
  heading?: boolean
}

export function Payee(props: PayeeProps) {
  // `bdi`: whatever direction the name's own script has, it cannot reorder what is around it.
  const line = (
    <>
      <bdi class="payee">{plainText(props.name)}</bdi>
      {props.domain ? null : (
        <>
          {' '}
          <span class="unverified">Unverified merchant</span>
        </>
      )}
    </>
  )
  return (
    <div class="payee-box">
      {props.heading ? <h1 class="payee-line">{line}</h1> : <p class="payee-line">{line}</p>}
      {props.domain ? (
        <p class="verified">
          <svg
            class="mark"
            viewBox="0 0 20 20"
            width="18"
            height="18"
            aria-hidden="true"
            focusable="false"
          >
            <circle cx="10" cy="10" r="10" />
            <path d="M5.6 10.4l3 3 5.8-6.6" />
          </svg>
          <span class="verified-word">Verified</span>{' '}
          <span class="verified-domain">{props.domain}</span>
        </p>
      ) : null}
    </div>
  )
}
