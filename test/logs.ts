/** The Worker's log lines as tests read them: each one a JSON line written by src/lib/log.ts. */
import { expect, type MockInstance } from 'vitest'

/** An error as a log line carries it. */
export interface LoggedError {
  name: string
  message: string
  stack?: string
  cause?: unknown
}

/** One parsed log line: its level, its event, its fields and, when there was one, its error. */
export interface LogLine {
  level: 'info' | 'warn' | 'error'
  event: string
  error?: LoggedError
  [field: string]: unknown
}

/**
 * The lines written through a console spy, parsed. Each call must be one JSON line and nothing
 * else: a stray `console.error(text, id, err)` fails the test that reads it.
 */
export function logLines(spy: MockInstance): LogLine[] {
  return spy.mock.calls.map((args) => {
    expect(args).toHaveLength(1)
    const [text] = args
    expect(typeof text).toBe('string')
    expect(text).not.toContain('\n')
    const line = JSON.parse(text as string) as LogLine
    expect(typeof line.event).toBe('string')
    return line
  })
}

/** The first line whose event is `event` (or contains it, for a pattern); the test fails if none. */
export function logLine(spy: MockInstance, event: string | RegExp): LogLine {
  const line = logLines(spy).find((l) =>
    typeof event === 'string' ? l.event === event : event.test(l.event),
  )
  expect(line, `a log line ${event}`).toBeDefined()
  return line as LogLine
}

/** What the spy wrote, as raw text: for asserting that a secret appears in no line at all. */
export function loggedText(spy: MockInstance): string {
  return spy.mock.calls.map((args) => args.map(String).join(' ')).join('\n')
}
