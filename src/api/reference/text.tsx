/** How the document's own words are shown: prose, JSON values, and lists with separators. */
import type { Child } from 'hono/jsx'

/** Text from the document: paragraphs on blank lines, `backticks` as code. Links stay text. */
export function Prose(props: { text?: string; class?: string }) {
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

export const json = (value: unknown) => JSON.stringify(value)

/** Parts with a separator between them, kept as children so links and code stay elements. */
export function joined(parts: Child[], separator = ' | '): Child {
  return parts.map((part, i) => (i === 0 ? part : [separator, part]))
}
