/**
 * The API reference at `/docs`: our OpenAPI document rendered on the server as one static page.
 * Operations grouped by tag, each with its method and path, parameters, request body, responses
 * and security, an anchor of its own; then the schemas they use. No script and nothing from
 * another origin, so it runs under the same CSP as every page and works offline: no viewer
 * fetched from a CDN runs on the origin merchants sign in to.
 */
import type { Child } from 'hono/jsx'
import { Document } from '../pages/layout'
import { REFERENCE_CSS_PATH } from './reference-style'

/** The parts of an OpenAPI 3.1 document the page shows; anything else is left out, not refused. */
export interface Schema {
  $ref?: string
  title?: string
  type?: string | string[]
  format?: string
  description?: string
  enum?: unknown[]
  const?: unknown
  default?: unknown
  example?: unknown
  examples?: unknown[]
  nullable?: boolean
  deprecated?: boolean
  readOnly?: boolean
  writeOnly?: boolean
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  additionalProperties?: boolean | Schema
  oneOf?: Schema[]
  anyOf?: Schema[]
  allOf?: Schema[]
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number | boolean
  exclusiveMaximum?: number | boolean
  minLength?: number
  maxLength?: number
  pattern?: string
  minItems?: number
  maxItems?: number
  minProperties?: number
  maxProperties?: number
}

interface Parameter {
  $ref?: string
  name: string
  in: string
  required?: boolean
  deprecated?: boolean
  description?: string
  schema?: Schema
  example?: unknown
}

interface MediaType {
  schema?: Schema
  example?: unknown
  examples?: Record<string, { summary?: string; description?: string; value?: unknown }>
}

interface RequestBody {
  $ref?: string
  description?: string
  required?: boolean
  content?: Record<string, MediaType>
}

interface ResponseObject {
  $ref?: string
  description?: string
  headers?: Record<string, { description?: string; schema?: Schema }>
  content?: Record<string, MediaType>
}

type SecurityRequirement = Record<string, string[]>

interface Operation {
  tags?: string[]
  summary?: string
  description?: string
  operationId?: string
  deprecated?: boolean
  parameters?: Parameter[]
  requestBody?: RequestBody
  responses?: Record<string, ResponseObject>
  security?: SecurityRequirement[]
}

type PathItem = Record<string, unknown> & { parameters?: Parameter[] }

interface SecurityScheme {
  type?: string
  scheme?: string
  bearerFormat?: string
  in?: string
  name?: string
  description?: string
  flows?: Record<string, { scopes?: Record<string, string> }>
}

export interface OpenApiDocument {
  openapi?: string
  info?: { title?: string; version?: string; description?: string }
  servers?: { url: string; description?: string }[]
  tags?: { name: string; description?: string }[]
  security?: SecurityRequirement[]
  paths?: Record<string, PathItem>
  webhooks?: Record<string, PathItem>
  components?: {
    schemas?: Record<string, Schema>
    parameters?: Record<string, Parameter>
    requestBodies?: Record<string, RequestBody>
    responses?: Record<string, ResponseObject>
    securitySchemes?: Record<string, SecurityScheme>
  }
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace']

/** One operation as the page lists it. */
export interface OperationEntry {
  method: string
  path: string
  webhook: boolean
  anchor: string
  operation: Operation
  /** The path item's own parameters, which every operation under it shares. */
  shared: Parameter[]
}

/** Every operation of the document (paths, then webhooks), in the document's order. */
export function operationsOf(doc: OpenApiDocument): OperationEntry[] {
  const entries: OperationEntry[] = []
  const taken = new Set<string>()
  const collect = (items: Record<string, PathItem> | undefined, webhook: boolean) => {
    for (const [path, item] of Object.entries(items ?? {})) {
      for (const method of METHODS) {
        const operation = item[method] as Operation | undefined
        if (!operation || typeof operation !== 'object') continue
        let anchor = `${webhook ? 'webhook' : 'op'}-${method}-${slugOf(path)}`
        while (taken.has(anchor)) anchor += '-'
        taken.add(anchor)
        entries.push({ method, path, webhook, anchor, operation, shared: item.parameters ?? [] })
      }
    }
  }
  collect(doc.paths, false)
  collect(doc.webhooks, true)
  return entries
}

const slugOf = (text: string) =>
  text
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()

const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1)
const schemaAnchor = (name: string) => `schema-${slugOf(name)}`
const tagAnchor = (name: string) => `tag-${slugOf(name)}`

/** A `$ref` into the document's components, followed (once: components here never chain). */
function resolve<T extends { $ref?: string }>(
  doc: OpenApiDocument,
  kind: 'parameters' | 'requestBodies' | 'responses',
  value: T,
): T {
  if (!value.$ref) return value
  const found = doc.components?.[kind]?.[refName(value.$ref)] as T | undefined
  return found ?? value
}

/** Operations by tag, in the document's tag order, then the order tags first appear; untagged last. */
function byTag(doc: OpenApiDocument, entries: OperationEntry[]) {
  const groups = new Map<string, OperationEntry[]>()
  for (const tag of doc.tags ?? []) groups.set(tag.name, [])
  for (const entry of entries) {
    const tag = entry.webhook ? 'Webhooks' : (entry.operation.tags?.[0] ?? 'Other')
    const group = groups.get(tag) ?? []
    group.push(entry)
    groups.set(tag, group)
  }
  return [...groups].filter(([, group]) => group.length > 0)
}

/** Text from the document: paragraphs on blank lines, `backticks` as code. Links stay text. */
function Prose(props: { text?: string; class?: string }) {
  if (!props.text) return null
  return (
    <>
      {props.text.split(/\n\s*\n/).map((paragraph) => (
        <p class={props.class}>
          {paragraph.split('`').map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part))}
        </p>
      ))}
    </>
  )
}

const json = (value: unknown) => JSON.stringify(value)

/** A schema's type in a few words, each referenced schema a link to its section. */
function TypeOf(props: { schema: Schema }): Child {
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

function joined(parts: Child[], separator = ' | '): Child {
  return parts.map((part, i) => (i === 0 ? part : [separator, part]))
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

function Facts(props: { schema: Schema }) {
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
function Shape(props: { schema: Schema; depth?: number }): Child {
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
function Field(props: {
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

/** A body's schema: its type (a link when it is a component), then its fields when `expand`. */
function Body(props: { doc: OpenApiDocument; media: MediaType; expand: boolean }) {
  const schema = props.media.schema
  const resolved = schema?.$ref ? props.doc.components?.schemas?.[refName(schema.$ref)] : schema
  const examples = [
    ...(props.media.example !== undefined
      ? [{ summary: undefined, value: props.media.example }]
      : []),
    ...Object.values(props.media.examples ?? {}),
  ]
  return (
    <>
      {schema ? (
        <p>
          Schema: <TypeOf schema={schema} />
        </p>
      ) : null}
      {props.expand && resolved ? (
        <>
          <Prose text={resolved.description} />
          <Shape schema={resolved} />
        </>
      ) : null}
      {examples.map((example) => (
        <div class="example">
          <p>Example{example.summary ? `: ${example.summary}` : ''}</p>
          <pre>
            <code>
              {typeof example.value === 'string'
                ? example.value
                : JSON.stringify(example.value, null, 2)}
            </code>
          </pre>
        </div>
      ))}
    </>
  )
}

function Security(props: { doc: OpenApiDocument; requirements?: SecurityRequirement[] }) {
  const requirements = props.requirements ?? props.doc.security
  if (!requirements || requirements.length === 0) {
    return <p>None: anyone may call this.</p>
  }
  const alternatives = requirements.map((requirement) => {
    const schemes = Object.entries(requirement)
    if (schemes.length === 0) return <>none</>
    return joined(
      schemes.map(([name, scopes]) => (
        <>
          <a href={`#security-${slugOf(name)}`}>
            <code>{name}</code>
          </a>
          {scopes.length ? (
            <>
              {' '}
              (scopes:{' '}
              {joined(
                scopes.map((scope) => <code>{scope}</code>),
                ', ',
              )}
              )
            </>
          ) : null}
        </>
      )),
      ' and ',
    )
  })
  return (
    <p>{alternatives.length > 1 ? ['Any one of: ', joined(alternatives, ' or ')] : alternatives}</p>
  )
}

function Parameters(props: { params: Parameter[] }) {
  if (props.params.length === 0) return null
  return (
    <>
      <h4>Parameters</h4>
      <ul class="fields">
        {props.params.map((param) => {
          const schema = param.schema ?? {}
          return (
            <Field
              name={param.name}
              required={param.required}
              location={param.in}
              // zod-openapi repeats a parameter's description on its schema: show it once.
              description={param.description}
              schema={param.example === undefined ? schema : { ...schema, example: param.example }}
              depth={0}
            />
          )
        })}
      </ul>
    </>
  )
}

function OperationSection(props: { doc: OpenApiDocument; entry: OperationEntry }) {
  const { doc, entry } = props
  const op = entry.operation
  const own = (op.parameters ?? []).map((p) => resolve(doc, 'parameters', p))
  const shared = entry.shared
    .map((p) => resolve(doc, 'parameters', p))
    .filter((p) => !own.some((o) => o.name === p.name && o.in === p.in))
  const body = op.requestBody ? resolve(doc, 'requestBodies', op.requestBody) : undefined
  const method = entry.method.toUpperCase()
  return (
    <section
      class="operation"
      id={entry.anchor}
      data-operation={`${method} ${entry.path}`}
      aria-labelledby={`${entry.anchor}-title`}
    >
      <h3 id={`${entry.anchor}-title`}>
        <span class={`method ${entry.method}`}>{method}</span> <code>{entry.path}</code>{' '}
        <a class="anchor" href={`#${entry.anchor}`} aria-label={`Link to ${method} ${entry.path}`}>
          #
        </a>
      </h3>
      {op.summary ? <p class="summary">{op.summary}</p> : null}
      {op.deprecated ? <p class="deprecated">Deprecated.</p> : null}
      <Prose text={op.description} />
      <h4>Security</h4>
      <Security doc={doc} requirements={op.security} />
      <Parameters params={[...shared, ...own]} />
      {body ? (
        <>
          <h4>Request body{body.required ? '' : ' (optional)'}</h4>
          <Prose text={body.description} />
          {Object.entries(body.content ?? {}).map(([type, media]) => (
            <div class="media">
              <p>
                <code>{type}</code>
              </p>
              <Body doc={doc} media={media} expand={true} />
            </div>
          ))}
        </>
      ) : null}
      <h4>Responses</h4>
      <dl class="responses">
        {Object.entries(op.responses ?? {}).map(([status, raw]) => {
          const response = resolve(doc, 'responses', raw)
          return (
            <>
              <dt>
                <span class={`status s${status.charAt(0)}`}>{status}</span>
              </dt>
              <dd>
                <Prose text={response.description} />
                {Object.keys(response.headers ?? {}).length ? (
                  <p>
                    Headers:{' '}
                    {joined(
                      Object.keys(response.headers ?? {}).map((name) => <code>{name}</code>),
                      ', ',
                    )}
                  </p>
                ) : null}
                {Object.entries(response.content ?? {}).map(([type, media]) => (
                  <div class="media">
                    <p>
                      <code>{type}</code>
                    </p>
                    <Body doc={doc} media={media} expand={status.startsWith('2')} />
                  </div>
                ))}
              </dd>
            </>
          )
        })}
      </dl>
    </section>
  )
}

function SecuritySchemes(props: { schemes: Record<string, SecurityScheme> }) {
  const entries = Object.entries(props.schemes)
  if (entries.length === 0) return null
  return (
    <section id="security" aria-labelledby="security-title">
      <h2 id="security-title">Authentication</h2>
      {entries.map(([name, scheme]) => (
        <div class="scheme" id={`security-${slugOf(name)}`}>
          <h3>
            <code>{name}</code>
          </h3>
          <p>
            {scheme.type === 'http'
              ? `HTTP ${scheme.scheme ?? ''} authentication${scheme.bearerFormat ? ` (${scheme.bearerFormat})` : ''}.`
              : scheme.type === 'apiKey'
                ? `A key in the ${scheme.in ?? ''} parameter "${scheme.name ?? ''}".`
                : `${scheme.type ?? 'Unknown'} scheme.`}
          </p>
          <Prose text={scheme.description} />
          {Object.entries(scheme.flows ?? {}).map(([flow, { scopes }]) => (
            <p>
              {flow} scopes:{' '}
              {joined(
                Object.keys(scopes ?? {}).map((scope) => <code>{scope}</code>),
                ', ',
              )}
            </p>
          ))}
        </div>
      ))}
    </section>
  )
}

/** The whole reference page for `doc`, served by us alone. */
export function ReferencePage(props: { doc: OpenApiDocument; specPath: string }) {
  const { doc } = props
  const entries = operationsOf(doc)
  const groups = byTag(doc, entries)
  const title = doc.info?.title ?? 'API'
  const tagInfo = new Map((doc.tags ?? []).map((tag) => [tag.name, tag.description]))
  const schemas = Object.entries(doc.components?.schemas ?? {})
  return (
    <Document
      title={`${title} reference`}
      head={<link rel="stylesheet" href={REFERENCE_CSS_PATH} />}
    >
      <header class="top">
        <h1>
          {title} <span class="version">{doc.info?.version}</span>
        </h1>
        <Prose text={doc.info?.description} />
        {doc.servers?.length ? (
          <p>
            Base URL:{' '}
            {joined(
              doc.servers.map((server) => <code>{server.url}</code>),
              ', ',
            )}
          </p>
        ) : null}
        <p>
          The machine-readable document: <a href={props.specPath}>{props.specPath}</a> (OpenAPI{' '}
          {doc.openapi}).
        </p>
      </header>
      <div class="columns">
        <nav aria-label="Operations">
          <ul>
            {groups.map(([tag, group]) => (
              <li>
                <a href={`#${tagAnchor(tag)}`}>{tag}</a>
                <ul>
                  {group.map((entry) => (
                    <li>
                      <a href={`#${entry.anchor}`}>
                        <span class={`method ${entry.method}`}>{entry.method.toUpperCase()}</span>{' '}
                        {entry.operation.summary ?? entry.path}
                      </a>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
            {schemas.length ? (
              <li>
                <a href="#schemas">Schemas</a>
              </li>
            ) : null}
            {doc.components?.securitySchemes ? (
              <li>
                <a href="#security">Authentication</a>
              </li>
            ) : null}
          </ul>
        </nav>
        <main>
          {groups.map(([tag, group]) => (
            <section id={tagAnchor(tag)} aria-labelledby={`${tagAnchor(tag)}-title`}>
              <h2 id={`${tagAnchor(tag)}-title`}>{tag}</h2>
              <Prose text={tagInfo.get(tag)} />
              {group.map((entry) => (
                <OperationSection doc={doc} entry={entry} />
              ))}
            </section>
          ))}
          <SecuritySchemes schemes={doc.components?.securitySchemes ?? {}} />
          {schemas.length ? (
            <section id="schemas" aria-labelledby="schemas-title">
              <h2 id="schemas-title">Schemas</h2>
              {schemas.map(([name, schema]) => (
                <div class="schema" id={schemaAnchor(name)}>
                  <h3>
                    <code>{name}</code>
                  </h3>
                  {schema.properties || schema.oneOf || schema.anyOf || schema.allOf ? null : (
                    <p>
                      <TypeOf schema={schema} />
                    </p>
                  )}
                  <Prose text={schema.description} />
                  <Facts schema={schema} />
                  <Shape schema={schema} />
                </div>
              ))}
            </section>
          ) : null}
        </main>
      </div>
    </Document>
  )
}
