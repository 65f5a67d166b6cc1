/**
 * The OpenAPI document as the reference reads it: the parts it shows, every operation in the
 * document's order with an anchor of its own, `$ref`s into the components followed, operations
 * grouped by tag. Nothing here renders; the anchors are here so every link and target agree.
 */

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

export interface Parameter {
  $ref?: string
  name: string
  in: string
  required?: boolean
  deprecated?: boolean
  description?: string
  schema?: Schema
  example?: unknown
}

export interface MediaType {
  schema?: Schema
  example?: unknown
  examples?: Record<string, { summary?: string; description?: string; value?: unknown }>
}

export interface RequestBody {
  $ref?: string
  description?: string
  required?: boolean
  content?: Record<string, MediaType>
}

export interface ResponseObject {
  $ref?: string
  description?: string
  headers?: Record<string, { description?: string; schema?: Schema }>
  content?: Record<string, MediaType>
}

export type SecurityRequirement = Record<string, string[]>

export interface Operation {
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

export type PathItem = Record<string, unknown> & { parameters?: Parameter[] }

export interface SecurityScheme {
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

export const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1)
export const schemaAnchor = (name: string) => `schema-${slugOf(name)}`
export const tagAnchor = (name: string) => `tag-${slugOf(name)}`
export const securityAnchor = (name: string) => `security-${slugOf(name)}`

/** A `$ref` into the document's components, followed (once: components here never chain). */
export function resolve<T extends { $ref?: string }>(
  doc: OpenApiDocument,
  kind: 'parameters' | 'requestBodies' | 'responses',
  value: T,
): T {
  if (!value.$ref) return value
  const found = doc.components?.[kind]?.[refName(value.$ref)] as T | undefined
  return found ?? value
}

/** Operations by tag, in the document's tag order, then the order tags first appear; untagged last. */
export function byTag(doc: OpenApiDocument, entries: OperationEntry[]) {
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
