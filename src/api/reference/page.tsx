/**
 * The API reference at `/docs`: our OpenAPI document rendered on the server as one static page.
 * Operations grouped by tag, each with its method and path, parameters, request body, responses
 * and security, an anchor of its own; then the schemas they use. No script and nothing from
 * another origin, so it runs under the same CSP as every page and works offline: no viewer
 * fetched from a CDN runs on the origin merchants sign in to.
 */
import { Document } from '../../pages/layout'
import { byTag, type OpenApiDocument, operationsOf, schemaAnchor, tagAnchor } from './document'
import { OperationSection, SecuritySchemes } from './operation'
import { Facts, Shape, TypeOf } from './schema'
import { REFERENCE_CSS_PATH } from './style'
import { joined, Prose } from './text'

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
