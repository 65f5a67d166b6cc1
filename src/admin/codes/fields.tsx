/** Form fields the new-code and edit forms share. */
import { FieldError } from '../components'
import type { FormErrors } from '../forms'

/** The radios of one field: `value` is checked, or the first option when there is none yet. */
export function Choice(props: {
  name: string
  value: string | undefined
  options: [value: string, label: string][]
}) {
  const current = props.value ?? props.options[0]?.[0]
  return (
    <>
      {props.options.map(([value, label]) => (
        <label>
          <input type="radio" name={props.name} value={value} checked={current === value} /> {label}
        </label>
      ))}
    </>
  )
}

/** A fixed amount, or the bounds of an open one, in major units ("4.50"), with their errors. */
export function AmountFields(props: {
  values: { amount: string; amount_min: string; amount_max: string }
  errors: FormErrors
}) {
  const { values, errors } = props
  return (
    <>
      <label for="amount">Amount (e.g. 4.50)</label>
      <input id="amount" name="amount" inputmode="decimal" value={values.amount} />
      <FieldError errors={errors} name="amount" />
      <div class="inline">
        <div>
          <label for="amount_min">Minimum</label>
          <input id="amount_min" name="amount_min" inputmode="decimal" value={values.amount_min} />
        </div>
        <div>
          <label for="amount_max">Maximum</label>
          <input id="amount_max" name="amount_max" inputmode="decimal" value={values.amount_max} />
        </div>
      </div>
      <FieldError errors={errors} name="amount_min" />
      <FieldError errors={errors} name="amount_max" />
    </>
  )
}
