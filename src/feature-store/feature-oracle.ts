/**
 * The definition of feature_cache in SQL: the features of every stored candle
 * computed by PostgreSQL window functions over candles_1m, on numeric (exact
 * sums; divisions and square roots carried to 40 decimals before the one
 * rounding to float8). The window is RANGE '(n−1) minutes' PRECEDING: the
 * candles of the last n minutes, the engine's rule (docs/FEATURES.md). It shares
 * nothing with the engine's rolling arithmetic, so `features --verify` and the
 * tests hold one against the other.
 */
import { MINUTE_MS } from '../core/records.ts'
import type { Queryable } from '../store/db.ts'

/** A row's values as stored or as the definition gives them. */
export interface FeatureValues {
  openTime: number
  windowSize: number
  windowCount: number
  windowQuoted: number | null
  closeZscore: number | null
  closeMinmax: number | null
  volumeZscore: number | null
  volumeMinmax: number | null
  spreadBpsZscore: number | null
  takerBuyRatioZscore: number | null
  logReturn: number | null
  closeMean: number | null
  closeStd: number | null
  /**
   * The definition only: |x|·n/√(nΣx² − (Σx)²), i.e. |x|/σ, of spread_bps and
   * taker_buy_ratio: how much a z-score magnifies an error in its input.
   */
  spreadCond?: number | null
  ratioCond?: number | null
}

const P = 'numeric(1000,40)'
const z = (x: string, n: string, s1: string, s2: string) =>
  `CASE WHEN ${x} IS NULL THEN NULL WHEN ${n}*${s2} - ${s1}*${s1} = 0 THEN 0
        ELSE ((${n}*${x} - ${s1})::${P} / sqrt((${n}*${s2} - ${s1}*${s1})::${P}))::float8 END`
const mm = (x: string, lo: string, hi: string) =>
  `CASE WHEN ${hi} = ${lo} THEN 0 ELSE ((${x} - ${lo})::${P} / (${hi} - ${lo}))::float8 END`

const cond = (x: string, n: string, s1: string, s2: string) =>
  `CASE WHEN ${x} IS NULL OR ${n}*${s2} - ${s1}*${s1} <= 0 THEN 0
        ELSE (abs(${x}) * ${n} / sqrt((${n}*${s2} - ${s1}*${s1})::${P}))::float8 END`

const VALUES = `window_count, window_quoted, close_zscore, close_minmax, volume_zscore, volume_minmax,
  spread_bps_zscore, taker_buy_ratio_zscore, log_return, close_mean, close_std`

function toValues(row: Record<string, unknown>, windowSize: number): FeatureValues {
  return {
    openTime: (row.open_time as Date).getTime(),
    windowSize,
    windowCount: row.window_count as number,
    windowQuoted: row.window_quoted as number | null,
    closeZscore: row.close_zscore as number | null,
    closeMinmax: row.close_minmax as number | null,
    volumeZscore: row.volume_zscore as number | null,
    volumeMinmax: row.volume_minmax as number | null,
    spreadBpsZscore: row.spread_bps_zscore as number | null,
    takerBuyRatioZscore: row.taker_buy_ratio_zscore as number | null,
    logReturn: row.log_return as number | null,
    closeMean: row.close_mean as number | null,
    closeStd: row.close_std as number | null,
    ...('spread_cond' in row
      ? { spreadCond: row.spread_cond as number | null, ratioCond: row.ratio_cond as number | null }
      : {}),
  }
}

const iso = (t: number) => new Date(t).toISOString()

/**
 * What feature_cache should hold for the candles of [from, to] (open times, ms)
 * over one window, oldest first. Reads the candles from (window − 1) minutes
 * before `from` (and the minute before, for log_return).
 */
export async function featureOracle(
  q: Queryable,
  market: string,
  symbol: string,
  windowSize: number,
  from: number,
  to: number,
): Promise<FeatureValues[]> {
  const readFrom = from - Math.max(1, windowSize - 1) * MINUTE_MS
  const r = await q.query<Record<string, unknown>>(
    `WITH x AS (
       SELECT open_time, close, volume, spread_bps::numeric AS sp, taker_buy_ratio::numeric AS tb,
              count(*) OVER w AS n,
              sum(close) OVER w AS c1, sum(close * close) OVER w AS c2, min(close) OVER w AS cmin, max(close) OVER w AS cmax,
              sum(volume) OVER w AS v1, sum(volume * volume) OVER w AS v2, min(volume) OVER w AS vmin, max(volume) OVER w AS vmax,
              count(spread_bps) OVER w AS sn, sum(spread_bps::numeric) OVER w AS s1, sum(spread_bps::numeric * spread_bps::numeric) OVER w AS s2,
              count(taker_buy_ratio) OVER w AS tn, sum(taker_buy_ratio::numeric) OVER w AS t1,
              sum(taker_buy_ratio::numeric * taker_buy_ratio::numeric) OVER w AS t2,
              lag(close) OVER o AS pc, lag(open_time) OVER o AS pt
         FROM candles_1m
        WHERE market = $1 AND symbol = $2 AND open_time BETWEEN $3::timestamptz AND $4::timestamptz
       WINDOW w AS (ORDER BY open_time RANGE BETWEEN interval '${windowSize - 1} minutes' PRECEDING AND CURRENT ROW),
              o AS (ORDER BY open_time))
     SELECT open_time, n::int AS window_count, sn::int AS window_quoted,
            ${z('close', 'n', 'c1', 'c2')} AS close_zscore, ${mm('close', 'cmin', 'cmax')} AS close_minmax,
            ${z('volume', 'n', 'v1', 'v2')} AS volume_zscore, ${mm('volume', 'vmin', 'vmax')} AS volume_minmax,
            ${z('sp', 'sn', 's1', 's2')} AS spread_bps_zscore, ${z('tb', 'tn', 't1', 't2')} AS taker_buy_ratio_zscore,
            CASE WHEN pt = open_time - interval '1 minute' AND pc > 0 AND close > 0
                 THEN ln(close::${P} / pc)::float8 END AS log_return,
            (c1::${P} / n)::float8 AS close_mean,
            (sqrt((n * c2 - c1 * c1)::${P}) / n)::float8 AS close_std,
            ${cond('sp', 'sn', 's1', 's2')} AS spread_cond, ${cond('tb', 'tn', 't1', 't2')} AS ratio_cond
       FROM x WHERE open_time >= $5::timestamptz ORDER BY open_time`,
    [market, symbol, iso(readFrom), iso(to), iso(from)],
  )
  return r.rows.map((row) => toValues(row, windowSize))
}

/** The stored rows of [from, to] for one window, oldest first. */
export async function storedFeatureValues(
  q: Queryable,
  market: string,
  symbol: string,
  windowSize: number,
  from: number,
  to: number,
): Promise<FeatureValues[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT open_time, ${VALUES} FROM feature_cache
      WHERE market = $1 AND symbol = $2 AND window_size = $3
        AND open_time BETWEEN $4::timestamptz AND $5::timestamptz
      ORDER BY open_time`,
    [market, symbol, windowSize, iso(from), iso(to)],
  )
  return r.rows.map((row) => toValues(row, windowSize))
}

/**
 * Tolerance: 1e-9 relative (absolute below `floor`). The engine's sums are exact
 * and its z-scores carry a few float64 roundings (~1e-15); the definition is
 * exact to 40 decimals before one rounding. The margin covers the float8
 * columns spread_bps and taker_buy_ratio, which PostgreSQL casts to numeric
 * with 15 significant digits (an error of 5e-16·|x|/σ in their z-scores).
 */
const TOL = 1e-9

/**
 * Per field: the floor under which the tolerance is absolute, and the magnifier of the
 * input error (spread_bps and taker_buy_ratio are float8: ~1e-15 relative from their
 * computation and PostgreSQL's 15-digit cast; a nearly constant window magnifies it).
 */
const COMPARED: readonly [keyof FeatureValues, number, ((w: FeatureValues) => number)?][] = [
  ['closeZscore', 1],
  ['closeMinmax', 1],
  ['volumeZscore', 1],
  ['volumeMinmax', 1],
  ['spreadBpsZscore', 1, (w) => w.spreadCond ?? 0],
  ['takerBuyRatioZscore', 1, (w) => w.ratioCond ?? 0],
  ['logReturn', 1e-12],
  ['closeMean', 1e-12],
  ['closeStd', 1e-12],
]
const FLOAT8_INPUT = 1e-14

/** The fields in which a stored row differs from the definition, as `field: got G, want W`. */
export function diffFeature(got: FeatureValues, want: FeatureValues): string[] {
  const out: string[] = []
  if (got.windowCount !== want.windowCount)
    out.push(`window_count: got ${got.windowCount}, want ${want.windowCount}`)
  // A row from before migration 011 has no window_quoted: nothing to hold against it.
  if (got.windowQuoted !== null && got.windowQuoted !== want.windowQuoted)
    out.push(`window_quoted: got ${got.windowQuoted}, want ${want.windowQuoted}`)
  for (const [k, floor, magnifier] of COMPARED) {
    const g = got[k] as number | null
    const w = want[k] as number | null
    const tol = TOL * Math.max(floor, Math.abs(w ?? 0)) + FLOAT8_INPUT * (magnifier?.(want) ?? 0)
    const same = g === null || w === null ? g === w : Math.abs(g - w) <= tol
    if (!same) out.push(`${k}: got ${g}, want ${w}`)
  }
  return out
}
