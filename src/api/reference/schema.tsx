/**
 * How a schema is shown: its type in a few words, its limits and examples, and its fields or
 * variants as nested lists, every referenced schema a link to its own section.
 */
import type { Child } from 'hono/jsx'
import { refName, type Schema, schemaAnchor } from './document'
import { joined, json, Prose } from './text'

/** A schema's type in a few words, each referenced schema a link to its section. */
export function TypeOf(props: { schema: Schema }): Child {
  const s = props.schema
  if (s.$ref) {
    const name = refName(s.$ref)
    return (
      <a href={`#${schemaAnchor(name)}`}>
        <code>{name}</code>
      </a>
    )
  }
  if (s.const !== undefined) return <code>{json(s.const)}</code>
  if (s.enum) return joined(s.enum.map((value) => <code>{json(value)}</code>))
  const variants = s.oneOf ?? s.anyOf
  if (variants) return joined(variants.map((variant) => <TypeOf schema={variant} />))
  if (s.allOf)
    return joined(
      s.allOf.map((part) => <TypeOf schema={part} />),
      ' & ',
    )
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : []
  const parts: Child[] = types.map((type) => {
    if (type === 'array') return <>array of {s.items ? <TypeOf schema={s.items} /> : 'any'}</>
    if (type === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
      return (
        <>
          map of string → <TypeOf schema={s.additionalProperties} />
        </>
      )
    }
    return type
  })
  if (s.nullable) parts.push('null')
  if (parts.length === 0) parts.push(s.properties ? 'object' : 'any')
  return (
    <>
      {joined(parts)}
      {s.format ? <span class="muted"> ({s.format})</span> : null}
    </>
  )
}

/** Limits, defaults and examples of a schema, as short phrases. */
function facts(s: Schema): Child[] {
  const out: Child[] = []
  const range = (low: unknown, high: unknown, unit: string) => {
    if (low !== undefined && high !== undefined) out.push(`${unit}${low}–${high}`)
    else if (low !== undefined) out.push(`${unit}≥ ${low}`)
    else if (high !== undefined) out.push(`${unit}≤ ${high}`)
  }
  range(s.minimum, s.maximum, '')
  if (typeof s.exclusiveMinimum === 'number') out.push(`> ${s.exclusiveMinimum}`)
  if (typeof s.exclusiveMaximum === 'number') out.push(`< ${s.exclusiveMaximum}`)
  range(s.minLength, s.maxLength, 'length ')
  range(s.minItems, s.maxItems, 'items ')
  range(s.minProperties, s.maxProperties, 'keys ')
  if (s.pattern)
    out.push(
      <>
        pattern <code>{s.pattern}</code>
      </>,
    )
  if (s.default !== undefined)
    out.push(
      <>
        default <code>{json(s.default)}</code>
      </>,
    )
  if (s.readOnly) out.push('read-only')
  if (s.writeOnly) out.push('write-only')
  if (s.deprecated) out.push('deprecated')
  for (const example of s.example !== undefined ? [s.example] : (s.examples ?? [])) {
    out.push(
      <>
        example <code>{json(example)}</code>
      </>,
    )
  }
  return out
}

export function Facts(props: { schema: Schema }) {
  const list = facts(props.schema)
  if (list.length === 0) return null
  return (
    <ul class="facts">
      {list.map((fact) => (
        <li>{fact}</li>
      ))}
    </ul>
  )
}

/** The shape of a schema: its fields, or its variants; referenced schemas as links. */
export function Shape(props: { schema: Schema; depth?: number }): Child {
  const s = props.schema
  const depth = props.depth ?? 0
  if (s.$ref || depth > 4) return null
  const variants = s.oneOf ?? s.anyOf
  if (variants) {
    return (
      <div class="variants">
        <p>{s.oneOf ? 'One of:' : 'Any of:'}</p>
        <ol>
          {variants.map((variant) => (
            <li>
              <VariantName schema={variant} />
              <Shape schema={variant} depth={depth + 1} />
            </li>
          ))}
        </ol>
      </div>
    )
  }
  if (s.allOf) {
    return (
      <div class="variants">
        <p>All of:</p>
        <ul>
          {s.allOf.map((part) => (
            <li>
              <TypeOf schema={part} />
              <Shape schema={part} depth={depth + 1} />
            </li>
          ))}
        </ul>
      </div>
    )
  }
  if (s.items && !s.items.$ref) return <Shape schema={s.items} depth={depth + 1} />
  if (typeof s.additionalProperties === 'object' && !s.properties) {
    return <Shape schema={s.additionalProperties} depth={depth + 1} />
  }
  const properties = Object.entries(s.properties ?? {})
  if (properties.length === 0) return null
  const required = new Set(s.required ?? [])
  return (
    <ul class="fields">
      {properties.map(([name, property]) => (
        <Field name={name} required={required.has(name)} schema={property} depth={depth} />
      ))}
    </ul>
  )
}

/**
 * One field or parameter: name, whether required, type; then what it means, its limits and, for
 * an object, its own fields indented below. A list rather than a table, so nested schemas stay
 * readable on a phone.
 */
export function Field(props: {
  name: string
  required?: boolean
  schema: Schema
  location?: string
  description?: string
  depth: number
}) {
  const { schema } = props
  return (
    <li>
      <p class="field">
        <code>{props.name}</code>
        {props.required ? <span class="required"> required</span> : null}
        {props.location ? <span class="muted"> in {props.location}</span> : null}{' '}
        <span class="type">
          <TypeOf schema={schema} />
        </span>
      </p>
      <Prose text={props.description ?? schema.description} />
      <Facts schema={schema} />
      <Shape schema={schema} depth={props.depth + 1} />
    </li>
  )
}

/** What tells a variant apart: its title, or a field with one allowed value (`action: "redirect"`). */
function VariantName(props: { schema: Schema }) {
  const s = props.schema
  if (s.$ref || s.title) return <p>{s.title ?? <TypeOf schema={s} />}</p>
  for (const [name, property] of Object.entries(s.properties ?? {})) {
    const only = property.const ?? (property.enum?.length === 1 ? property.enum[0] : undefined)
    if (only !== undefined) {
      return (
        <p>
          With <code>{`${name}: ${json(only)}`}</code>
        </p>
      )
    }
  }
  return (
    <p>
      <TypeOf schema={s} />
    </p>
  )
}
