/**
 * Binance's REQUEST_WEIGHT limiter, per IP, over fixed one-minute windows
 * aligned to the clock minute (what X-MBX-USED-WEIGHT-1M counts). Every
 * request adds its weight, even once over the limit; past the limit the
 * answer is 429 with Retry-After = seconds to the next window. An IP that
 * keeps sending after `banAfterRejected` 429s in one window is banned (418):
 * 2 minutes for the first offence, doubling per repeat, at most 3 days.
 */

export const WINDOW_MS = 60_000
const BAN_BASE_MS = 2 * 60_000
const BAN_MAX_MS = 3 * 24 * 60 * 60_000

export type Charge =
  | { readonly kind: 'ok'; readonly used: number }
  | { readonly kind: 'limited'; readonly used: number; readonly retryAfterS: number; readonly limit: number }
  | { readonly kind: 'banned'; readonly used: number; readonly retryAfterS: number; readonly until: number }

interface IpState {
  windowStart: number
  used: number
  rejected: number
  bannedUntil: number
  offences: number
}

export interface WeightLimiterOptions {
  limit: number
  /** 429 answers in one window after which the next request is banned. */
  banAfterRejected: number
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

export class WeightLimiter {
  private readonly ips = new Map<string, IpState>()
  private limitPerMinute: number
  private readonly banAfterRejected: number

  constructor(opts: WeightLimiterOptions) {
    if (!(opts.limit > 0)) throw new RangeError(`weight limit must be positive, got ${opts.limit}`)
    this.limitPerMinute = opts.limit
    this.banAfterRejected = Math.max(0, Math.floor(opts.banAfterRejected))
  }

  get limit(): number {
    return this.limitPerMinute
  }

  setLimit(n: number): void {
    if (!(n > 0)) throw new RangeError(`weight limit must be positive, got ${n}`)
    this.limitPerMinute = Math.floor(n)
  }

  /** Weight used by `ip` in the window containing `now`. */
  used(ip: string, now: number): number {
    return this.state(ip, now).used
  }

  charge(ip: string, weight: number, now: number): Charge {
    const s = this.state(ip, now)
    if (s.bannedUntil > now) {
      return { kind: 'banned', used: s.used, retryAfterS: seconds(s.bannedUntil - now), until: s.bannedUntil }
    }
    if (s.rejected >= this.banAfterRejected && s.used > this.limitPerMinute) {
      s.offences++
      s.bannedUntil = now + Math.min(BAN_MAX_MS, BAN_BASE_MS * 2 ** (s.offences - 1))
      s.rejected = 0
      return { kind: 'banned', used: s.used, retryAfterS: seconds(s.bannedUntil - now), until: s.bannedUntil }
    }
    s.used += weight
    if (s.used > this.limitPerMinute) {
      s.rejected++
      return {
        kind: 'limited',
        used: s.used,
        retryAfterS: seconds(s.windowStart + WINDOW_MS - now),
        limit: this.limitPerMinute,
      }
    }
    return { kind: 'ok', used: s.used }
  }

  private state(ip: string, now: number): IpState {
    const windowStart = Math.floor(now / WINDOW_MS) * WINDOW_MS
    let s = this.ips.get(ip)
    if (!s) {
      s = { windowStart, used: 0, rejected: 0, bannedUntil: 0, offences: 0 }
      this.ips.set(ip, s)
    } else if (s.windowStart !== windowStart) {
      s.windowStart = windowStart
      s.used = 0
      s.rejected = 0
    }
    return s
  }
}
