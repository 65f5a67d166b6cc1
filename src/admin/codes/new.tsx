/** `/admin/codes/new`: the form that creates a code, and its post. */
import type { Context } from 'hono'
import { getMerchant } from '../../auth/queries'
import { forgetCode } from '../../codes/cache'
import { destinationRules } from '../../codes/rules'
import { createCodeFor } from '../../codes/service'
import type { AppEnv } from '../../env'
import { SUPPORTED_CURRENCIES } from '../../money/currency'
import { FieldError } from '../components'
import { createInputOf, errorsOf, type Form, type FormErrors, readForm } from '../forms'
import { AdminLayout } from '../layout'
import { AmountFields, Choice } from './fields'

export async function showNewCodeForm(c: Context<AppEnv>) {
  return c.html(await newCodePage(c, {}, {}))
}

export async function createCodeFromForm(c: Context<AppEnv>) {
  const form = await readForm(c.req)
  try {
    const rules = destinationRules(c.env)
    const code = await createCodeFor(c.var.db, c.var.admin.merchantId, createInputOf(form), rules)
    await forgetCode(code.slug, new URL(c.req.url).origin)
    return c.redirect(`/admin/codes/${code.id}`, 303)
  } catch (err) {
    return c.html(await newCodePage(c, form, errorsOf(err)), 400)
  }
}

/** The form, blank or as it was sent with the errors that sent it back. */
async function newCodePage(c: Context<AppEnv>, form: Form, errors: FormErrors) {
  const merchant = await getMerchant(c.var.db, c.var.admin.merchantId)
  return (
    <AdminLayout title="New code" section="codes" merchantName={merchant?.name}>
      <h1>New code</h1>
      <CodeForm form={form} errors={errors} />
    </AdminLayout>
  )
}

/** Every field of a new code: what it does, its kind, its destination or payment, its slug. */
function CodeForm(props: { form: Form; errors: FormErrors }) {
  const { form, errors } = props
  return (
    <form method="post" action="/admin/codes/new" class="card">
      {errors._ ? (
        <p class="error" role="alert">
          {errors._}
        </p>
      ) : null}
      <fieldset>
        <legend>What the code does</legend>
        <Choice
          name="action"
          value={form.action}
          options={[
            ['redirect', 'Redirect to a URL'],
            ['checkout', 'Take a payment'],
          ]}
        />
      </fieldset>
      <fieldset>
        <legend>Kind</legend>
        <Choice
          name="mode"
          value={form.mode}
          options={[
            ['dynamic', 'Dynamic: can be edited after printing'],
            ['static', 'Static: fixed forever'],
          ]}
        />
      </fieldset>
      <label for="destination_url">Destination URL (redirect codes)</label>
      <input
        id="destination_url"
        name="destination_url"
        type="url"
        value={form.destination_url ?? ''}
        placeholder="https://example.com/menu"
      />
      <FieldError errors={errors} name="destination_url" />
      <fieldset>
        <legend>Payment (checkout codes)</legend>
        <label for="description">Description</label>
        <input id="description" name="description" value={form.description ?? ''} maxlength={500} />
        <FieldError errors={errors} name="description" />
        <label for="currency">Currency</label>
        <select id="currency" name="currency">
          {SUPPORTED_CURRENCIES.map((cur) => (
            <option value={cur} selected={(form.currency ?? 'eur') === cur}>
              {cur.toUpperCase()}
            </option>
          ))}
        </select>
        <FieldError errors={errors} name="currency" />
        <Choice
          name="amount_type"
          value={form.amount_type}
          options={[
            ['fixed', 'Fixed amount'],
            ['open', 'Customer enters the amount'],
          ]}
        />
        <AmountFields
          values={{
            amount: form.amount ?? '',
            amount_min: form.amount_min ?? '',
            amount_max: form.amount_max ?? '',
          }}
          errors={errors}
        />
        <label for="max_payments">
          At most this many payments (1 = single use; empty = unlimited)
        </label>
        <input
          id="max_payments"
          name="max_payments"
          type="number"
          min="1"
          value={form.max_payments ?? ''}
        />
        <FieldError errors={errors} name="max_payments" />
      </fieldset>
      <label for="slug">Custom slug (optional)</label>
      <input id="slug" name="slug" value={form.slug ?? ''} pattern="[A-Za-z0-9_\-]{3,64}" />
      <FieldError errors={errors} name="slug" />
      <label for="expires_at">Expires (UTC, optional)</label>
      <input
        id="expires_at"
        name="expires_at"
        type="datetime-local"
        value={form.expires_at ?? ''}
      />
      <FieldError errors={errors} name="expires_at" />
      <label for="reference">Your reference (optional)</label>
      <input id="reference" name="reference" value={form.reference ?? ''} maxlength={128} />
      <p>
        <button type="submit">Create code</button>
      </p>
    </form>
  )
}
