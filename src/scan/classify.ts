/**
 * Who scanned: device class and browser family from a maintained UA parser (bowser), and the bot
 * flag from a maintained crawler list (isbot), which also knows link-preview fetchers.
 */
import Bowser from 'bowser'
import { isbot } from 'isbot'

export type DeviceClass = 'mobile' | 'tablet' | 'desktop' | 'tv' | 'bot' | 'unknown'

export interface Client {
  device: DeviceClass
  browser: string | null
  os: string | null
  isBot: boolean
}

export function classifyClient(userAgent: string | null): Client {
  if (!userAgent) return { device: 'unknown', browser: null, os: null, isBot: true }
  const bot = isbot(userAgent)
  const parsed = Bowser.parse(userAgent)
  const type = parsed.platform.type
  const device: DeviceClass = bot
    ? 'bot'
    : type === 'mobile' || type === 'tablet' || type === 'desktop' || type === 'tv'
      ? type
      : 'unknown'
  return {
    device,
    browser: parsed.browser.name ?? null,
    os: parsed.os.name ?? null,
    isBot: bot,
  }
}
