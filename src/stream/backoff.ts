/**
 * Reconnect delays: 1 s, 2 s, 4 s, 8 s, 8 s, … (SPEC §5), each jittered.
 *
 * Jitter is "downward" (equal-jitter style): the delay lies in
 * [nominal × (1 − jitter), nominal]. That keeps the 8 s cap a true cap (we never
 * wait longer than promised) while still spreading connections that dropped at
 * the same instant, so they do not all knock on Binance's door together
 * (300 connection attempts / 5 min / IP).
 */

export interface BackoffOptions {
  readonly baseMs: number
  readonly maxMs: number
  /** Fraction of the nominal delay that jitter may remove, 0…1. */
  readonly jitter: number
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 1_000, maxMs: 8_000, jitter: 0.2 })

/** Un-jittered delay for the `attempt`-th consecutive failure (attempt ≥ 1). */
export function nominalDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = Math.max(0, Math.min(attempt - 1, 30))
  return Math.min(opts.maxMs, opts.baseMs * 2 ** exp)
}

/** Jittered delay for the `attempt`-th consecutive failure; `random` returns [0, 1). */
export function backoffDelay(
  attempt: number,
  random: () => number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const nominal = nominalDelay(attempt, opts)
  return Math.round(nominal * (1 - opts.jitter * clamp01(random())))
}

/** `centre ± spread`, uniformly; used for the 24 h rotation margin. */
export function jitterAround(centre: number, spread: number, random: () => number): number {
  return Math.round(centre + (clamp01(random()) * 2 - 1) * spread)
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5
}
