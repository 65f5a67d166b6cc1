/**
 * Where the local Worker answers. `npm run dev` picks its port (`--port`, else `PORT`, else 8787)
 * and, once the Worker answers, writes its origin to `.wrangler/dev-origin`; the scripts that print
 * links to the local Worker (`npm run merchant:create`) read it back, so their links use the port
 * dev actually serves on.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export const DEFAULT_PORT = 8787
/** Relative to the repository, like the rest of wrangler's local state. */
export const DEV_ORIGIN_FILE = join('.wrangler', 'dev-origin')

/**
 * The port from `--port N` or `--port=N` among `args`, else `env.PORT`, else 8787; and the other
 * arguments, as given (wrangler dev gets those). An error message when the port is not one.
 */
export function devPort(
  args: readonly string[],
  env: Record<string, string | undefined>,
): { port: number; rest: string[] } | { error: string } {
  const rest = [...args]
  const at = rest.findIndex((arg) => arg === '--port' || arg.startsWith('--port='))
  const inline = rest[at]?.startsWith('--port=') ?? false
  const given = at < 0 ? env.PORT : inline ? rest[at]?.slice(7) : rest[at + 1]
  if (at >= 0) rest.splice(at, inline ? 1 : 2)
  const port = at < 0 && given === undefined ? DEFAULT_PORT : Number(given?.trim() || Number.NaN)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return { error: `The port must be a number from 1 to 65535, not "${given ?? '(nothing)'}".` }
  }
  return { port, rest }
}

/** Called by `npm run dev` once the Worker answers at `origin`. */
export function writeDevOrigin(origin: string, root = process.cwd()): void {
  const file = join(root, DEV_ORIGIN_FILE)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${origin}\n`)
}

/**
 * The origin `npm run dev` last served on; before its first run, where it would serve (`PORT`,
 * else 8787).
 */
export function localOrigin(
  root = process.cwd(),
  env: Record<string, string | undefined> = process.env,
): string {
  const file = join(root, DEV_ORIGIN_FILE)
  const written = existsSync(file) ? URL.parse(readFileSync(file, 'utf8').trim()) : null
  if (written && written.origin !== 'null') return written.origin
  const chosen = devPort([], env)
  return `http://localhost:${'port' in chosen ? chosen.port : DEFAULT_PORT}`
}
