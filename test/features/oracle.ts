/**
 * The independent oracle: the same features computed by PostgreSQL window
 * functions over candles_1m, on numeric (exact sums; the divisions and square
 * roots carried to 40 decimals before the one rounding to float8). The window is
 * RANGE … '(n−1) minutes' PRECEDING, i.e. the candles of the last n minutes,
 * which is the engine's rule (docs/FEATURES.md).
 */
import assert from 'node:assert/strict'
import type { Candle } from '../../src/core/records.ts'
import { buildCandleUpsert } from '../../src/store/candle-sql.ts'
import type { Queryable } from '../../src/store/db.ts'

export interface Expected {
  openTime: number
  windowSize: number
  windowCount: number
  closeZscore: number
  closeMinmax: number
  volumeZscore: number
  volumeMinmax: number
  spreadBpsZscore: number | null
  takerBuyRatioZscore: number | null
  logReturn: number | null
  closeMean: number
  closeStd: number
}

const P = 'numeric(1000,40)'
const z = (x: string, n: string, s1: string, s2: string) =>
  `CASE WHEN ${x} IS NULL THEN NULL WHEN ${n}*${s2} - ${s1}*${s1} = 0 THEN 0
        ELSE ((${n}*${x} - ${s1})::${P} / sqrt((${n}*${s2} - ${s1}*${s1})::${P}))::float8 END`
const mm = (x: string, lo: string, hi: string) =>
  `CASE WHEN ${hi} = ${lo} THEN 0 ELSE ((${x} - ${lo})::${P} / (${hi} - ${lo}))::float8 END`

export async function oracle(q: Queryable, symbol: string, windowSize: number): Promise<Expected[]> {
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
         FROM candles_1m WHERE market = 'spot' AND symbol = $1
       WINDOW w AS (ORDER BY open_time RANGE BETWEEN interval '${windowSize - 1} minutes' PRECEDING AND CURRENT ROW),
              o AS (ORDER BY open_time))
     SELECT open_time, n::int AS window_count,
            ${z('close', 'n', 'c1', 'c2')} AS close_zscore, ${mm('close', 'cmin', 'cmax')} AS close_minmax,
            ${z('volume', 'n', 'v1', 'v2')} AS volume_zscore, ${mm('volume', 'vmin', 'vmax')} AS volume_minmax,
            ${z('sp', 'sn', 's1', 's2')} AS spread_bps_zscore, ${z('tb', 'tn', 't1', 't2')} AS taker_buy_ratio_zscore,
            CASE WHEN pt = open_time - interval '1 minute' AND pc > 0 AND close > 0
                 THEN ln(close::${P} / pc)::float8 END AS log_return,
            (c1::${P} / n)::float8 AS close_mean,
            (sqrt((n * c2 - c1 * c1)::${P}) / n)::float8 AS close_std
       FROM x ORDER BY open_time`,
    [symbol],
  )
  return r.rows.map((row) => ({
    openTime: (row.open_time as Date).getTime(),
    windowSize,
    windowCount: row.window_count as number,
    closeZscore: row.close_zscore as number,
    closeMinmax: row.close_minmax as number,
    volumeZscore: row.volume_zscore as number,
    volumeMinmax: row.volume_minmax as number,
    spreadBpsZscore: row.spread_bps_zscore as number | null,
    takerBuyRatioZscore: row.taker_buy_ratio_zscore as number | null,
    logReturn: row.log_return as number | null,
    closeMean: row.close_mean as number,
    closeStd: row.close_std as number,
  }))
}

export async function storedFeatures(q: Queryable, symbol: string, windowSize: number): Promise<Expected[]> {
  const r = await q.query<Record<string, unknown>>(
    `SELECT open_time, window_count, window_full, close_zscore, close_minmax, volume_zscore, volume_minmax,
            spread_bps_zscore, taker_buy_ratio_zscore, log_return, close_mean, close_std
       FROM feature_cache WHERE market = 'spot' AND symbol = $1 AND window_size = $2 ORDER BY open_time`,
    [symbol, windowSize],
  )
  return r.rows.map((row) => {
    assert.equal(row.window_full, row.window_count === windowSize)
    return {
      openTime: (row.open_time as Date).getTime(),
      windowSize,
      windowCount: row.window_count as number,
      closeZscore: row.close_zscore as number,
      closeMinmax: row.close_minmax as number,
      volumeZscore: row.volume_zscore as number,
      volumeMinmax: row.volume_minmax as number,
      spreadBpsZscore: row.spread_bps_zscore as number | null,
      takerBuyRatioZscore: row.taker_buy_ratio_zscore as number | null,
      logReturn: row.log_return as number | null,
      closeMean: row.close_mean as number,
      closeStd: row.close_std as number,
    }
  })
}

/**
 * Tolerance: 1e-9 relative (absolute below 1). The engine's sums are exact and
 * its z-scores carry a few float64 roundings (~1e-15); the oracle is exact to 40
 * decimals before one rounding. The margin covers the float8 columns spread_bps
 * and taker_buy_ratio, which PostgreSQL casts to numeric with 15 significant
 * digits (an error of 5e-16·|x|/σ in their z-scores).
 */
const TOL = 1e-9

function close(got: number | null, want: number | null, what: string, floor = 1): void {
  if (want === null || got === null) {
    assert.equal(got, want, what)
    return
  }
  const err = Math.abs(got - want)
  assert.ok(err <= TOL * Math.max(floor, Math.abs(want)), `${what}: got ${got}, want ${want} (error ${err})`)
}

/** Every stored row equals the oracle, and there is exactly one row per candle. */
export async function assertMatchesOracle(q: Queryable, symbol: string, windowSize: number): Promise<number> {
  const want = await oracle(q, symbol, windowSize)
  const got = await storedFeatures(q, symbol, windowSize)
  assert.equal(got.length, want.length, `${symbol}/${windowSize}: rows`)
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as Expected
    const w = want[i] as Expected
    const at = `${symbol}/${windowSize} @${new Date(w.openTime).toISOString()}`
    assert.equal(g.openTime, w.openTime, at)
    assert.equal(g.windowCount, w.windowCount, `${at} window_count`)
    close(g.closeZscore, w.closeZscore, `${at} close_zscore`)
    close(g.closeMinmax, w.closeMinmax, `${at} close_minmax`)
    close(g.volumeZscore, w.volumeZscore, `${at} volume_zscore`)
    close(g.volumeMinmax, w.volumeMinmax, `${at} volume_minmax`)
    close(g.spreadBpsZscore, w.spreadBpsZscore, `${at} spread_bps_zscore`)
    close(g.takerBuyRatioZscore, w.takerBuyRatioZscore, `${at} taker_buy_ratio_zscore`)
    close(g.logReturn, w.logReturn, `${at} log_return`, 1e-12)
    close(g.closeMean, w.closeMean, `${at} close_mean`, 1e-12)
    close(g.closeStd, w.closeStd, `${at} close_std`, 1e-12)
  }
  return want.length
}

/** Writes candles to candles_1m in chunks PGlite accepts. */
export async function storeCandles(q: Queryable, candles: readonly Candle[]): Promise<void> {
  for (let i = 0; i < candles.length; i += 1000) await q.query(buildCandleUpsert(candles.slice(i, i + 1000)))
}
