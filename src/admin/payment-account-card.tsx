/** Settings' Payments card: the merchant's connected Stripe account and its state (platform mode). */
import type { MerchantAccountRow } from '../payments/accounts'

/** What a Settings answer says about the payment account, above its state. */
export interface AccountMessage {
  notice?: string
  error?: string
}

/** Stripe's `disabled_reason`, in words a merchant can act on. */
function disabledInWords(reason: string | null): string | null {
  if (!reason) return null
  if (reason.startsWith('rejected.')) return 'Stripe has rejected this account.'
  if (reason === 'requirements.past_due') return 'Stripe needs more information (listed below).'
  if (reason === 'requirements.pending_verification' || reason === 'under_review') {
    return 'Stripe is reviewing the information you gave.'
  }
  return `Stripe has disabled this account (${reason}).`
}

/** The Payments card of Settings; nothing in one-business mode (there is nothing to connect). */
export function PaymentAccountCard(props: {
  platform: boolean
  account: MerchantAccountRow | undefined
  message?: AccountMessage
}) {
  if (!props.platform) {
    // One business: only what an action here had to say (there is nothing to connect).
    return props.message?.error ? (
      <section class="card" aria-labelledby="payments-h">
        <h2 id="payments-h">Payments</h2>
        <p class="error" role="alert">
          {props.message.error}
        </p>
      </section>
    ) : null
  }
  const a = props.account
  const yes = (v: boolean | undefined) => (v ? 'yes' : 'no')
  const rejected = a?.stripeDisabledReason?.startsWith('rejected.') ?? false
  return (
    <section class="card" aria-labelledby="payments-h">
      <h2 id="payments-h">Payments</h2>
      {props.message?.error ? (
        <p class="error" role="alert">
          {props.message.error}
        </p>
      ) : null}
      {props.message?.notice ? (
        <p class="notice" role="status">
          {props.message.notice}
        </p>
      ) : null}
      {!a?.stripeAccountId ? (
        <p>
          Customers pay into your own Stripe account. Connect it (or create one) on Stripe's pages:
          your codes can't take payments until Stripe lets the account take charges.
        </p>
      ) : (
        <>
          <p>
            {a.stripeChargesEnabled
              ? 'Your Stripe account takes payments: your checkout codes are payable.'
              : "Your checkout codes can't take payments until Stripe enables charges on your account."}
          </p>
          <dl>
            <dt>Stripe account</dt>
            <dd class="secret">{a.stripeAccountId}</dd>
            <dt>Charges enabled</dt>
            <dd>{yes(a.stripeChargesEnabled)}</dd>
            <dt>Payouts enabled</dt>
            <dd>{yes(a.stripePayoutsEnabled)}</dd>
            <dt>Details submitted</dt>
            <dd>{yes(a.stripeDetailsSubmitted)}</dd>
            {disabledInWords(a.stripeDisabledReason) ? (
              <>
                <dt>Stripe says</dt>
                <dd>{disabledInWords(a.stripeDisabledReason)}</dd>
              </>
            ) : null}
            {a.stripeRequirementsDue.length ? (
              <>
                <dt>Requirements due</dt>
                <dd>
                  <ul>
                    {a.stripeRequirementsDue.map((r) => (
                      <li>
                        <code>{r}</code>
                      </li>
                    ))}
                  </ul>
                </dd>
              </>
            ) : null}
            <dt>As of</dt>
            <dd>
              {a.stripeAccountUpdatedAt
                ? `${new Date(a.stripeAccountUpdatedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`
                : 'not yet heard from Stripe'}
            </dd>
          </dl>
        </>
      )}
      {a?.stripeAccountId && a.stripeChargesEnabled && !a.stripeRequirementsDue.length ? null : (
        <form method="post" action="/admin/settings/stripe/connect" class="inline">
          <button type="submit" disabled={rejected}>
            {a?.stripeAccountId ? 'Continue onboarding with Stripe' : 'Connect with Stripe'}
          </button>
        </form>
      )}
    </section>
  )
}
