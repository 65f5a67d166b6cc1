/**
 * The OpenAPI document passes Redocly's recommended rules, so generated clients and validators
 * get what they need from it (a method name per operation, each operation's security and
 * answers). The document is the one `/openapi.json` serves: built by the app itself, in Node,
 * since producing it takes nothing but hono and zod, and Redocly does not run in workerd.
 */
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * Imported by a path tsc does not follow: the app is typed for the Workers runtime
 * (workers-types, JSX), which this Node-typed project does not compile.
 */
const APP: string = '../../src/app'

interface Operation {
  operationId?: string
}

/** Rules turned off for the whole document, each with why. */
const RULES_OFF = {
  // The project names no licence (package.json is private, there is no LICENSE file);
  // declaring one would be a claim nobody has made.
  'info-license': 'off',
} as const

/**
 * Single problems kept on purpose: the rule stays on for every other operation. Each must
 * still occur, so one that no longer does is removed from here.
 */
const ACCEPTED = [
  {
    ruleId: 'operation-2xx-response',
    pointer: '#/paths/~1api~1v1~1codes~1{id}~1live/get/responses',
    // A WebSocket: success is 101 Switching Protocols, never a 2xx. The same feed with a 200
    // (text/event-stream) is its own operation, `GET /codes/{id}/events`.
    why: 'the WebSocket feed succeeds with 101',
  },
]

let source: string
let problems: NormalizedProblem[]

beforeAll(async () => {
  const { createApp } = (await import(APP)) as {
    createApp(): { request(path: string, init: object, env: object): Promise<Response> }
  }
  // As production serves it: on its public origin (a localhost server is a lint warning).
  const response = await createApp().request(
    '/openapi.json',
    {},
    { ENVIRONMENT: 'production', PUBLIC_BASE_URL: 'https://pay.qrcheckout.app' },
  )
  expect(response.status).toBe(200)
  source = await response.text()
  const config = await createConfig({ extends: ['recommended'], rules: RULES_OFF })
  problems = await lintFromString({ source, absoluteRef: 'openapi.json', config })
})

const pointerOf = (problem: NormalizedProblem) => problem.location[0]?.pointer
const describeProblem = (problem: NormalizedProblem) =>
  `${problem.severity} ${problem.ruleId} at ${pointerOf(problem)}: ${problem.message}`

describe('/openapi.json under redocly lint (recommended)', () => {
  it('has no errors and no warnings but the accepted ones', () => {
    const unexpected = problems.filter(
      (problem) =>
        !ACCEPTED.some(
          (accepted) =>
            accepted.ruleId === problem.ruleId && accepted.pointer === pointerOf(problem),
        ),
    )
    expect(unexpected.map(describeProblem)).toEqual([])
  })

  it('still has each accepted problem (a stale exception is removed)', () => {
    for (const accepted of ACCEPTED) {
      expect(
        problems.some((p) => p.ruleId === accepted.ruleId && pointerOf(p) === accepted.pointer),
        `${accepted.ruleId} at ${accepted.pointer} (${accepted.why})`,
      ).toBe(true)
    }
  })

  it('names every operation with a camelCase verb, once', () => {
    const doc = JSON.parse(source) as { paths: Record<string, Record<string, Operation>> }
    const ids = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods).map((operation) => operation.operationId),
    )
    expect(ids.length).toBeGreaterThan(0)
    for (const id of ids) expect(id).toMatch(/^[a-z]+(?:[A-Z][a-z0-9]*)+$/)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
