/**
 * What travels between the Worker and a code's hub (RPC arguments and results) and what the hub
 * sends to live-feed sockets. Plain data only, so it crosses RPC and JSON unchanged.
 */

/**
 * What kind of device scanned (scan/classify.ts tells it from the user agent); the values of the
 * D1 `scans.device` column.
 */
export type DeviceClass = 'mobile' | 'tablet' | 'desktop' | 'tv' | 'bot' | 'unknown'

/** One scan as the hub stores it: the D1 `scans` row plus nothing the hub has to compute. */
export interface HubScan {
  id: string
  codeId: string
  merchantId: string
  scannedAt: number
  method: 'GET' | 'HEAD'
  isBot: boolean
  device: DeviceClass
  browser: string | null
  os: string | null
  country: string | null
  region: string | null
  city: string | null
  colo: string | null
  referrerHost: string | null
  visitorHash: string | null
  /** A person (not a bot, not a HEAD) was shown the checkout page of an active checkout code. */
  checkoutView: boolean
  /** Scanned from the printed symbol rather than a typed or shared link (counters only). */
  viaQr?: boolean
}

/** Exact, durable totals of one code since its hub began (the live feed's numbers). */
export interface HubCounters {
  scans: number
  human: number
  bot: number
  /** Distinct visitor hashes of human scans on the current UTC day (hashes rotate at 00:00 UTC). */
  unique_visitors_today: number
  checkout_views: number
  pay_pressed: number
  paid: number
  /** Human scans from the printed QR, and from the link typed or shared. */
  human_qr: number
  human_direct: number
  /** Scans and funnel events stored in the hub and not yet confirmed by D1. */
  unflushed: number
}

export interface ReservePaymentInput {
  paymentId: string
  /** The code's max_payments; null = unlimited (the hold is still recorded). */
  limit: number | null
  /** Epoch ms; the hold stops counting against the limit at this time unless settled. */
  holdUntil: number
  /**
   * A payment of the same customer whose session can no longer be paid: its hold is released in
   * the same transaction, so this reservation takes over its slot.
   */
  replaces?: string
}

export type ReservePaymentResult = { ok: true } | { ok: false; reason: 'sold_out' | 'busy' }

/**
 * 'reopened': a paid payment, fully refunded, gives its slot back at the merchant's ask (its funnel
 * steps stay counted: the sale happened); a later 'paid' takes it again.
 */
export type PaymentOutcome = 'paid' | 'released' | 'reopened'

/** Hub rows D1 may not have yet, pre-aggregated per flush sequence and UTC hour. */
export interface PendingStats {
  hours: {
    seq: number
    hour: number
    human: number
    bot: number
    checkout_views: number
    pay_pressed: number
    paid: number
  }[]
  dimensions: {
    seq: number
    hour: number
    dimension: Dimension
    value: string
    human: number
    bot: number
  }[]
  visitors: { seq: number; hour: number; hash: string }[]
}

export const DIMENSIONS = ['country', 'city', 'device', 'browser', 'referrer'] as const
export type Dimension = (typeof DIMENSIONS)[number]

/** A scan as watchers see it: never the visitor hash. */
export interface LiveScan {
  type: 'scan'
  id: string
  at: string
  country: string | null
  city: string | null
  device: string
  browser: string | null
  is_bot: boolean
  checkout_view: boolean
}

export interface LivePayment {
  type: 'payment'
  payment_id: string
  status: 'pending' | 'paid' | 'released'
  at: string
}

export type LiveEvent = LiveScan | LivePayment

export type LiveMessage =
  | { type: 'hello'; code_id: string; counters: HubCounters }
  | { type: 'update'; counters: HubCounters; events: LiveEvent[]; omitted: number }
  | { type: 'counters'; counters: HubCounters }

/** On the Worker's request that opens a feed on a hub: who the feed is for (credentials.ts). */
export const SUBJECT_HEADER = 'x-live-subject'
