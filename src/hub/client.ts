/**
 * How the Worker reaches a code's hub. One place names hubs, so sharding a hot code's hub
 * (`{code}:{n}`) would change only this file and the caller that picks `n`.
 */
import type { CodeHub } from './code-hub'

export interface HubEnv {
  CODE_HUB: DurableObjectNamespace<CodeHub>
}

/** A fresh stub for the code's hub. Stubs are per request: never cache one across requests. */
export function hubFor(env: HubEnv, codeId: string): DurableObjectStub<CodeHub> {
  return env.CODE_HUB.get(env.CODE_HUB.idFromName(codeId))
}
