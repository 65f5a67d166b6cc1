/**
 * Structured logs: one JSON line per event, which Workers Logs indexes field by field. `event`
 * names what happened in a few stable words; the fields say to what (ids, counts, routes); an
 * error is written with its name, message and stack, and its cause. Never pass a secret or a path
 * that holds one (receipt ids, sign-in tokens, API keys): log the route pattern instead.
 *
 * Info goes out through `console.info`, not `console.log`: `npm run dev` runs wrangler at log level
 * info, which hides `console.log` along with wrangler's own startup noise.
 */

export type LogFields = Record<string, unknown>
type Level = 'info' | 'warn' | 'error'

/** What an error becomes in a log line: enough to find the code that threw. */
function describe(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return typeof err === 'object' ? safe(err) : String(err)
  const out: Record<string, unknown> = { name: err.name, message: err.message, stack: err.stack }
  if (err.cause !== undefined && depth < 3) out.cause = describe(err.cause, depth + 1)
  return out
}

/** An object's JSON, or its string form when it cannot be serialised (cycles, BigInt). */
function safe(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value))
  } catch {
    return String(value)
  }
}

function write(level: Level, event: string, fields: LogFields = {}, err?: unknown) {
  const line: Record<string, unknown> = { level, event, ...fields }
  if (err !== undefined) line.error = describe(err)
  let text: string
  try {
    text = JSON.stringify(line)
  } catch {
    text = JSON.stringify({ level, event, fields: String(fields), error: line.error })
  }
  if (level === 'error') console.error(text)
  else if (level === 'warn') console.warn(text)
  else console.info(text)
}

/** The one logger: `log.error('payment not recorded', { paymentId }, err)`. */
export const log = {
  info: (event: string, fields?: LogFields) => write('info', event, fields),
  warn: (event: string, fields?: LogFields, err?: unknown) => write('warn', event, fields, err),
  error: (event: string, fields?: LogFields, err?: unknown) => write('error', event, fields, err),
}
