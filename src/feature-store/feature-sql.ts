/**
 * SQL for the feature engine: the set-based feature_cache upsert (one statement
 * per batch, `INSERT … SELECT FROM unnest(arrays) ON CONFLICT … DO UPDATE`) and
 * the candles_1m reads that warm-up and repairs need (decimals read back as
 * text, so the engine parses exactly what it parses live).
 */
import { createHash } from 'node:crypto'
import type { CandleValues } from '../core/candle-point.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import { featureKey } from '../features/feature-row.ts'
import type { Queryable } from '../store/db.ts'
import { type UnnestColumn, unnestInsertSql, unnestParams } from '../store/unnest-insert.ts'

const COLUMNS: readonly UnnestColumn<FeatureRow>[] = [
  { name: 'market', type: 'text', value: (r) => r.market },
  { name: 'symbol', type: 'text', value: (r) => r.symbol },
  { name: 'open_time', type: 'epoch_ms', value: (r) => r.openTime },
  { name: 'window_size', type: 'int4', value: (r) => r.windowSize },
  { name: 'close_zscore', type: 'float8', value: (r) => nonFinite(r.closeZscore) },
  { name: 'close_minmax', type: 'float8', value: (r) => nonFinite(r.closeMinmax) },
  { name: 'volume_zscore', type: 'float8', value: (r) => nonFinite(r.volumeZscore) },
  { name: 'volume_minmax', type: 'float8', value: (r) => nonFinite(r.volumeMinmax) },
  { name: 'log_return', type: 'float8', value: (r) => nonFinite(r.logReturn) },
  { name: 'spread_bps_zscore', type: 'float8', value: (r) => nonFinite(r.spreadBpsZscore) },
  { name: 'taker_buy_ratio_zscore', type: 'float8', value: (r) => nonFinite(r.takerBuyRatioZscore) },
  { name: 'close_mean', type: 'float8', value: (r) => nonFinite(r.closeMean) },
  { name: 'close_std', type: 'float8', value: (r) => nonFinite(r.closeStd) },
  { name: 'window_count', type: 'int4', value: (r) => r.windowCount },
  { name: 'window_full', type: 'bool', value: (r) => r.windowFull },
  { name: 'window_quoted', type: 'int4', value: (r) => r.windowQuoted },
]

const VALUE_COLUMNS = COLUMNS.slice(4).map((c) => c.name)

const UPSERT = `${unnestInsertSql('feature_cache', 'f', COLUMNS)}
ON CONFLICT (market, symbol, open_time, window_size) DO UPDATE SET
    ${VALUE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(',\n    ')},
    computed_at = now()
  WHERE (${VALUE_COLUMNS.map((c) => `f.${c}`).join(', ')})
        IS DISTINCT FROM (${VALUE_COLUMNS.map((c) => `excluded.${c}`).join(', ')})`

/**
 * The guard: a window only gains candles and quotes, so a row computed from an
 * older view of candles_1m (a delayed live write, a rewrite that read before
 * another writer's commit) has a smaller window_count or window_quoted than the
 * stored row, and is refused. Rows from before migration 011 (no
 * window_quoted) take any write. Identical recomputations (repairs rewrite whole
 * spans) change nothing, not even computed_at.
 */
export const FEATURE_UPSERT_SQL = `${UPSERT}
    AND excluded.window_count >= coalesce(f.window_count, 0)
    AND excluded.window_quoted >= coalesce(f.window_quoted, 0)`

/** Without the guard: `features --rebuild`, whose rows are the truth even where candles were deleted. */
export const FEATURE_REBUILD_SQL = UPSERT

const statementName = (sql: string) => `features_${createHash('sha1').update(sql).digest('hex').slice(0, 12)}`
const GUARDED_NAME = statementName(FEATURE_UPSERT_SQL)
const FORCED_NAME = statementName(FEATURE_REBUILD_SQL)

/** Collapses rows with the same key (ON CONFLICT cannot touch a row twice); the last one wins. */
export function dedupeFeatureRows(rows: readonly FeatureRow[]): FeatureRow[] {
  const byKey = new Map<string, FeatureRow>()
  for (const r of rows) byKey.set(featureKey(r), r)
  return byKey.size === rows.length ? [...rows] : [...byKey.values()]
}

export function buildFeatureUpsert(
  rows: readonly FeatureRow[],
  force = false,
): { name: string; text: string; values: string[] } {
  const values = unnestParams(dedupeFeatureRows(rows), COLUMNS)
  return force
    ? { name: FORCED_NAME, text: FEATURE_REBUILD_SQL, values }
    : { name: GUARDED_NAME, text: FEATURE_UPSERT_SQL, values }
}

/** NaN and ±Infinity cannot be a meaningful feature: stored as NULL rather than a poisoned value. */
function nonFinite(v: number | null): number | null {
  return v !== null && !Number.isFinite(v) ? null : v
}

interface CandleTextRow {
  open_time: Date
  close: string
  volume: string
  taker_buy_base: string
  bid: string | null
  ask: string | null
}

const CANDLE_VALUES = `open_time, close::text AS close, volume::text AS volume,
  taker_buy_base::text AS taker_buy_base, bid::text AS bid, ask::text AS ask`

function toValues(r: CandleTextRow): CandleValues {
  return {
    openTime: r.open_time.getTime(),
    close: r.close,
    volume: r.volume,
    takerBuyBase: r.taker_buy_base,
    bid: r.bid,
    ask: r.ask,
  }
}

/** Candles of one symbol with open time in [from, to], oldest first. */
export async function readCandleSpan(
  q: Queryable,
  market: string,
  symbol: string,
  from: number,
  to: number,
): Promise<CandleValues[]> {
  const r = await q.query<CandleTextRow>(
    `SELECT ${CANDLE_VALUES} FROM candles_1m
      WHERE market = $1 AND symbol = $2 AND open_time BETWEEN $3::timestamptz AND $4::timestamptz
      ORDER BY open_time`,
    [market, symbol, new Date(from).toISOString(), new Date(to).toISOString()],
  )
  return r.rows.map(toValues)
}

/**
 * Per window size, the open time (ms) of the symbol's newest feature row, or
 * null when the window has none. Each is one backward index probe.
 */
export async function readLatestFeatureTimes(
  q: Queryable,
  market: string,
  symbol: string,
  windowSizes: readonly number[],
): Promise<Map<number, number | null>> {
  const r = await q.query<{ window_size: number; latest: Date | null }>(
    `SELECT w AS window_size,
            (SELECT max(open_time) FROM feature_cache
              WHERE market = $1 AND symbol = $2 AND window_size = w) AS latest
       FROM unnest($3::int[]) AS w`,
    [market, symbol, [...windowSizes]],
  )
  return new Map(r.rows.map((row) => [row.window_size, row.latest === null ? null : row.latest.getTime()]))
}

/**
 * Runs of consecutive stored minutes in [from, to] that lack a feature row for
 * one of `windowSizes` (a backfill stopped between its candles and its feature
 * rewrite leaves such candles behind). Each is one index probe per candle.
 */
export async function readSpansWithoutFeatures(
  q: Queryable,
  market: string,
  symbol: string,
  windowSizes: readonly number[],
  from: number,
  to: number,
): Promise<{ from: number; to: number }[]> {
  const r = await q.query<{ span_from: Date; span_to: Date }>(
    `SELECT min(open_time) AS span_from, max(open_time) AS span_to FROM (
       SELECT c.open_time,
              c.open_time - (row_number() OVER (ORDER BY c.open_time)) * interval '1 minute' AS run
         FROM candles_1m c
        WHERE c.market = $1 AND c.symbol = $2
          AND c.open_time BETWEEN $3::timestamptz AND $4::timestamptz
          AND (SELECT count(*) FROM feature_cache f
                WHERE f.market = c.market AND f.symbol = c.symbol AND f.open_time = c.open_time
                  AND f.window_size = ANY($5::int[])) < cardinality($5::int[])
     ) lacking
     GROUP BY run ORDER BY span_from`,
    [market, symbol, new Date(from).toISOString(), new Date(to).toISOString(), [...new Set(windowSizes)]],
  )
  return r.rows.map((row) => ({ from: row.span_from.getTime(), to: row.span_to.getTime() }))
}
