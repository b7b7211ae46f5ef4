/**
 * SQL for the feature engine: the set-based feature_cache upsert (one statement
 * per batch, `INSERT … SELECT FROM unnest(arrays) ON CONFLICT … DO UPDATE`) and
 * the candles_1m reads that warm-up and repairs need (decimals read back as
 * text, so the engine parses exactly what it parses live).
 */
import { createHash } from 'node:crypto'
import type { CandleValues } from '../features/candle-point.ts'
import type { FeatureRow } from '../features/feature-row.ts'
import { featureKey } from '../features/feature-row.ts'
import type { Queryable } from './db.ts'

const COLUMNS: ReadonlyArray<readonly [column: string, type: string, value: (r: FeatureRow) => unknown]> = [
  ['market', 'text', (r) => r.market],
  ['symbol', 'text', (r) => r.symbol],
  ['open_time', 'timestamptz', (r) => new Date(r.openTime).toISOString()],
  ['window_size', 'int4', (r) => r.windowSize],
  ['close_zscore', 'float8', (r) => r.closeZscore],
  ['close_minmax', 'float8', (r) => r.closeMinmax],
  ['volume_zscore', 'float8', (r) => r.volumeZscore],
  ['volume_minmax', 'float8', (r) => r.volumeMinmax],
  ['log_return', 'float8', (r) => r.logReturn],
  ['spread_bps_zscore', 'float8', (r) => r.spreadBpsZscore],
  ['taker_buy_ratio_zscore', 'float8', (r) => r.takerBuyRatioZscore],
  ['close_mean', 'float8', (r) => r.closeMean],
  ['close_std', 'float8', (r) => r.closeStd],
  ['window_count', 'int4', (r) => r.windowCount],
  ['window_full', 'bool', (r) => r.windowFull],
]

const VALUE_COLUMNS = COLUMNS.slice(4).map(([c]) => c)

/** Identical recomputations (repairs rewrite whole spans) change nothing, not even computed_at. */
export const FEATURE_UPSERT_SQL = `INSERT INTO feature_cache AS f (${COLUMNS.map(([c]) => c).join(', ')})
SELECT * FROM unnest(${COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})
ON CONFLICT (market, symbol, open_time, window_size) DO UPDATE SET
    ${VALUE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(',\n    ')},
    computed_at = now()
  WHERE (${VALUE_COLUMNS.map((c) => `f.${c}`).join(', ')})
        IS DISTINCT FROM (${VALUE_COLUMNS.map((c) => `excluded.${c}`).join(', ')})`

const STATEMENT_NAME = `features_upsert_${createHash('sha1').update(FEATURE_UPSERT_SQL).digest('hex').slice(0, 12)}`

/** Collapses rows with the same key (ON CONFLICT cannot touch a row twice); the last one wins. */
export function dedupeFeatureRows(rows: readonly FeatureRow[]): FeatureRow[] {
  const byKey = new Map<string, FeatureRow>()
  for (const r of rows) byKey.set(featureKey(r), r)
  return byKey.size === rows.length ? [...rows] : [...byKey.values()]
}

export function buildFeatureUpsert(rows: readonly FeatureRow[]): {
  name: string
  text: string
  values: unknown[]
} {
  const unique = dedupeFeatureRows(rows)
  const values = COLUMNS.map(([, , get]) => unique.map((r) => nonFinite(get(r))))
  return { name: STATEMENT_NAME, text: FEATURE_UPSERT_SQL, values }
}

/** NaN/±Infinity cannot be a meaningful feature: store null rather than a poisoned value. */
function nonFinite(v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v
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
