/**
 * `npm run cf-typegen [-- out.d.ts]`: worker-configuration.d.ts, the `Env` type of wrangler.toml's
 * bindings, as `wrangler types` writes it but for the Worker's sources. wrangler.toml's `main` is
 * the build's output (dist/index.mjs), so plain `wrangler types` runs the build and types
 * `CODE_HUB` against `./dist/index`, where TypeScript finds no `CodeHub`. Here wrangler reads a
 * copy of wrangler.toml whose `main` is src/index.ts, without the build step. Local secrets never
 * become types (`--env-file=/dev/null`: they are typed by hand in src/env.ts). The committed file
 * is exactly this script's output; test/node/cf-typegen.test.ts keeps it so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { experimental_generateTypes } from 'wrangler'

const ROOT = resolve(import.meta.dirname, '..')
const TYPES_FILE = 'worker-configuration.d.ts'

/** wrangler.toml with `main` pointing at the sources and no `[build]` table. */
function sourceConfig(toml: string): string {
  const main = /^main\s*=.*$/m
  const build = /^\[build\]\n(?:(?!\[)[^\n]*\n)*/m
  if (!main.test(toml) || !build.test(toml)) {
    throw new Error('wrangler.toml has no top-level `main` or no [build] table to replace')
  }
  return toml
    .replace(main, `main = ${JSON.stringify(join(ROOT, 'src', 'index.ts'))}`)
    .replace(build, '')
}

/** The text of worker-configuration.d.ts. Run with the repository as working directory. */
export async function generateWorkerTypes(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'qrc-typegen-'))
  const config = join(dir, 'wrangler.toml')
  try {
    writeFileSync(config, sourceConfig(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')))
    const { content } = await experimental_generateTypes({
      config,
      includeRuntime: false,
      strictVars: false,
      envFile: ['/dev/null'],
    })
    // The header names the command line; the copy's path in it would change on every run.
    const flag = ` --config=${config}`
    if (!content.includes(flag) || !content.includes('import("./src/index")')) {
      throw new Error(`wrangler types wrote an unexpected header or entry:\n${content}`)
    }
    return content.replace(flag, '')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(ROOT, TYPES_FILE))
  process.chdir(ROOT)
  writeFileSync(out, await generateWorkerTypes())
  console.log(`Types written to ${out}.`)
}
