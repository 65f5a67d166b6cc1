/**
 * Who scanned: device class and browser family from a maintained UA parser (bowser), and the bot
 * flag from a maintained crawler list (isbot), which also knows link-preview fetchers.
 */
import Bowser from 'bowser'
import { isbot } from 'isbot'
import type { DeviceClass } from '../hub/types'

export interface Client {
  device: DeviceClass
  browser: string | null
  os: string | null
  isBot: boolean
}

/** User agents repeat (the same phone models, the same previews): parse each once per isolate. */
const parsed = new Map<string, Client>()
const PARSED_MAX = 500
const UA_MAX = 1024

export function classifyClient(userAgent: string | null): Client {
  if (!userAgent) return { device: 'unknown', browser: null, os: null, isBot: true }
  // Parsed and remembered by its first UA_MAX characters: a huge header costs no more memory.
  const key = userAgent.slice(0, UA_MAX)
  const known = parsed.get(key)
  if (known) return known
  const client = parse(key)
  if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value as string)
  parsed.set(key, client)
  return client
}

function parse(userAgent: string): Client {
  const bot = isbot(userAgent)
  const result = Bowser.parse(userAgent)
  const type = result.platform.type
  const device: DeviceClass = bot
    ? 'bot'
    : type === 'mobile' || type === 'tablet' || type === 'desktop' || type === 'tv'
      ? type
      : 'unknown'
  return {
    device,
    // bowser names an unknown browser or OS "" (curl, most crawlers): unknown is null everywhere.
    browser: result.browser.name || null,
    os: result.os.name || null,
    isBot: bot,
  }
}
