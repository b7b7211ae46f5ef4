/** Typed rows of data_quality_logs (column names fixed by the seed's schema, SPEC §4). */
import type { Queryable } from './db.ts'

export type QualityEventType =
  | 'gap_detected'
  | 'gap_filled'
  | 'gap_unfillable'
  | 'ws_disconnected'
  | 'ws_reconnected'
  | 'invalid_message'
  | 'db_write_failed'
  | 'spool_replayed'

export interface QualityEvent {
  eventType: QualityEventType
  market?: string
  symbol?: string | null
  /** Open time (ms) of the first missing minute. */
  gapStart?: number | null
  /** Open time (ms) of the last missing minute. */
  gapEnd?: number | null
  candlesMissing?: number | null
  candlesRecovered?: number | null
  source?: string | null
  errorMessage?: string | null
  resolved?: boolean
  resolvedAt?: number | null
  details?: Record<string, unknown> | null
}

const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString())

/** Inserts one row and returns its id (a string: bigserial). */
export async function insertQualityLog(db: Queryable, e: QualityEvent): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO data_quality_logs (market, symbol, event_type, gap_start, gap_end, candles_missing,
       candles_recovered, source, error_message, resolved, resolved_at, details)
     VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6, $7, $8, $9, $10, $11::timestamptz, $12::jsonb)
     RETURNING id`,
    [
      e.market ?? 'spot',
      e.symbol == null ? null : e.symbol.toUpperCase(),
      e.eventType,
      iso(e.gapStart),
      iso(e.gapEnd),
      e.candlesMissing ?? null,
      e.candlesRecovered ?? null,
      e.source ?? null,
      e.errorMessage ?? null,
      e.resolved ?? false,
      iso(e.resolvedAt),
      e.details == null ? null : JSON.stringify(e.details),
    ],
  )
  return String(r.rows[0]?.id)
}

/** Rows logged since `sinceMs` (e.g. errors_24h on /health), optionally of some types only. */
export async function countQualityEvents(
  db: Queryable,
  sinceMs: number,
  types?: readonly QualityEventType[],
): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM data_quality_logs
     WHERE created_at >= $1::timestamptz AND ($2::text[] IS NULL OR event_type = ANY($2::text[]))`,
    [new Date(sinceMs).toISOString(), types === undefined ? null : [...types]],
  )
  return Number(r.rows[0]?.n ?? 0)
}
