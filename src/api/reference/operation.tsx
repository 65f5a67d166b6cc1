/**
 * One operation's section (method and path, security, parameters, request body, responses) and
 * the authentication schemes its security links to.
 */
import {
  type MediaType,
  type OpenApiDocument,
  type OperationEntry,
  type Parameter,
  refName,
  resolve,
  type SecurityRequirement,
  type SecurityScheme,
  securityAnchor,
} from './document'
import { Field, Shape, TypeOf } from './schema'
import { joined, Prose } from './text'

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
          <a href={`#${securityAnchor(name)}`}>
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

export function OperationSection(props: { doc: OpenApiDocument; entry: OperationEntry }) {
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

export function SecuritySchemes(props: { schemes: Record<string, SecurityScheme> }) {
  const entries = Object.entries(props.schemes)
  if (entries.length === 0) return null
  return (
    <section id="security" aria-labelledby="security-title">
      <h2 id="security-title">Authentication</h2>
      {entries.map(([name, scheme]) => (
        <div class="scheme" id={securityAnchor(name)}>
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
