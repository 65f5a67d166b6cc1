/**
 * `npm run dev` and `npm run merchant:create` agree on where the local Worker answers: dev picks
 * its port and records the origin it serves on; merchant:create's links default to that origin.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { devPort, localOrigin, writeDevOrigin } from '../../scripts/local-origin'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp = mkdtempSync(join(tmpdir(), 'local-origin-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('the port npm run dev serves on', () => {
  it('comes from --port, else PORT, else 8787; wrangler dev gets the other arguments', () => {
    expect(devPort(['--port', '9000', '--ip', '0.0.0.0'], {})).toEqual({
      port: 9000,
      rest: ['--ip', '0.0.0.0'],
    })
    expect(devPort(['--port=9001'], { PORT: '3000' })).toEqual({ port: 9001, rest: [] })
    expect(devPort([], { PORT: '3000' })).toEqual({ port: 3000, rest: [] })
    expect(devPort([], {})).toEqual({ port: 8787, rest: [] })
    expect(devPort(['--port'], {})).toEqual({
      error: 'The port must be a number from 1 to 65535, not "(nothing)".',
    })
    expect(devPort([], { PORT: '70000' })).toHaveProperty('error')
  })

  it('is where links point: the origin dev last served on, else PORT, else 8787', () => {
    const project = mkdtempSync(join(tmp, 'project-'))
    expect(localOrigin(project, {})).toBe('http://localhost:8787')
    expect(localOrigin(project, { PORT: '3000' })).toBe('http://localhost:3000')
    writeDevOrigin('http://localhost:9000', project)
    expect(localOrigin(project, { PORT: '3000' })).toBe('http://localhost:9000')
  })
})

describe('npm run merchant:create', () => {
  it('links to the origin npm run dev serves on', async () => {
    const project = mkdtempSync(join(tmp, 'project-'))
    writeDevOrigin('http://localhost:9123', project)
    const { stdout } = await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'scripts', 'merchant-create.ts'), '--help'],
      { cwd: project },
    )
    expect(stdout).toContain('links to http://localhost:9123 (where npm run dev serves)')
  }, 30_000)
})
