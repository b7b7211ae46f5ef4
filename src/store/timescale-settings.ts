/**
 * The TimescaleDB settings the configuration asks for, applied at every start
 * (each step is a no-op when the database already has it): chunk interval,
 * compression of candles_1m, feature_cache and the three aggregates, and
 * retention. Also the refresh of aggregate buckets that a write changed under
 * the watermark, and the storage figures for /metrics.
 *
 * Statements that carry values take them as parameters; the refresh procedure
 * cannot run in a transaction block or through a prepared statement, so its
 * bounds are ISO timestamps formatted here.
 */
import type { TimescaleConfig } from '../config/config.ts'
import { type Clock, systemClock } from '../core/clock.ts'
import { retry, SCHEDULES } from '../core/retry.ts'
import type { Db, Queryable } from './db.ts'
import { isLockNotAvailable } from './errors.ts'

/** Refreshes run for minutes on a large history: outside the pool's statement timeout. */
type LongRunner = Pick<Db, 'execLong' | 'query'>

export const DEFAULT_TIMESCALE: TimescaleConfig = Object.freeze({
  mode: 'auto',
  compressAfter: '7 days',
  chunkInterval: '1 day',
  retention1m: null,
  retentionAggregates: null,
  explicit: Object.freeze([]) as readonly string[],
})

const HYPERTABLES = ['candles_1m', 'feature_cache'] as const

/** The aggregates, their bucket and the start offset of their refresh policy (002). */
export const AGGREGATES = [
  { name: 'candles_5m', bucket: '5 minutes', bucketMs: 5 * 60_000, policyStart: '3 hours' },
  { name: 'candles_1h', bucket: '1 hour', bucketMs: 3_600_000, policyStart: '1 day' },
  { name: 'candles_1d', bucket: '1 day', bucketMs: 86_400_000, policyStart: '3 days' },
] as const

/**
 * A bucket is materialised only when every minute in it closed at least this long
 * ago (the policies' end offset in 002): a late live candle then always lands above
 * the watermark, where the real-time part of the aggregate sees it.
 */
export const REFRESH_MARGIN_MS = 10 * 60_000

const COMPRESSION: Readonly<Record<string, { segmentby: string; orderby: string }>> = {
  candles_1m: { segmentby: 'market, symbol', orderby: 'open_time' },
  feature_cache: { segmentby: 'market, symbol', orderby: 'open_time, window_size' },
}

export async function applyTimescaleSettings(db: Queryable, s: TimescaleConfig): Promise<void> {
  for (const table of HYPERTABLES) {
    await db.query('SELECT set_chunk_time_interval($1::regclass, $2::interval)', [table, s.chunkInterval])
    const c = COMPRESSION[table] as { segmentby: string; orderby: string }
    const on = await db.query<{ on: boolean }>(
      `SELECT compression_enabled AS on FROM timescaledb_information.hypertables
       WHERE hypertable_schema = current_schema() AND hypertable_name = $1`,
      [table],
    )
    if (on.rows[0]?.on !== true) {
      await db.exec(
        `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = '${c.segmentby}', timescaledb.compress_orderby = '${c.orderby}')`,
      )
    }
    await ensurePolicy(db, table, 'compression', s.compressAfter)
    await ensurePolicy(db, table, 'retention', s.retention1m)
  }
  for (const a of AGGREGATES) {
    const on = await db.query<{ on: boolean }>(
      `SELECT compression_enabled AS on FROM timescaledb_information.continuous_aggregates
       WHERE view_schema = current_schema() AND view_name = $1`,
      [a.name],
    )
    if (on.rows[0]?.on !== true) {
      await db.exec(
        `ALTER MATERIALIZED VIEW ${a.name} SET (timescaledb.compress = true, timescaledb.compress_segmentby = 'market, symbol', timescaledb.compress_orderby = 'open_time')`,
      )
    }
    // TimescaleDB refuses to compress what its refresh policy may still rewrite.
    const after = await db.query<{ v: string }>(
      'SELECT greatest($1::interval, $2::interval + $3::interval)::text AS v',
      [s.compressAfter, a.policyStart, a.bucket],
    )
    await ensurePolicy(db, a.name, 'compression', after.rows[0]?.v ?? s.compressAfter)
    await ensurePolicy(db, a.name, 'retention', s.retentionAggregates)
  }
}

type PolicyKind = 'compression' | 'retention'

const POLICY = {
  compression: { proc: 'policy_compression', key: 'compress_after', add: 'add_compression_policy' },
  retention: { proc: 'policy_retention', key: 'drop_after', add: 'add_retention_policy' },
} as const

/** Adds, replaces or removes one policy so that it says `interval` (null: none). */
async function ensurePolicy(
  db: Queryable,
  relation: string,
  kind: PolicyKind,
  interval: string | null,
): Promise<void> {
  const p = POLICY[kind]
  const jobs = await db.query<{ id: number; same: boolean | null }>(
    `SELECT j.job_id AS id, (j.config->>'${p.key}')::interval = $2::interval AS same
     FROM timescaledb_information.jobs j
     WHERE j.proc_name = $3 AND j.hypertable_schema IS NOT NULL
       AND (j.hypertable_name = $1 OR j.hypertable_name = (
             SELECT materialization_hypertable_name FROM timescaledb_information.continuous_aggregates
             WHERE view_schema = current_schema() AND view_name = $1))`,
    [relation, interval ?? '0', p.proc],
  )
  const existing = jobs.rows[0]
  if (interval !== null && existing?.same === true && jobs.rows.length === 1) return
  for (const j of jobs.rows) await db.query('SELECT delete_job($1)', [j.id])
  if (interval !== null) {
    await db.query(`SELECT ${p.add}($1::regclass, ${p.key} => $2::interval)`, [relation, interval])
  }
}

/** Buckets [from, to) of one aggregate that hold minutes [fromMs, toMs], cut at the refresh margin. */
export function refreshWindow(
  bucketMs: number,
  fromMs: number,
  toMs: number,
  nowMs: number,
): { from: number; to: number } | null {
  const from = Math.floor(fromMs / bucketMs) * bucketMs
  const to = Math.min(Math.floor(toMs / bucketMs) * bucketMs + bucketMs, bucketFloor(nowMs, bucketMs))
  return to > from ? { from, to } : null
}

/** The end of the last bucket whose every minute closed REFRESH_MARGIN_MS ago. */
function bucketFloor(nowMs: number, bucketMs: number): number {
  return Math.floor((nowMs - REFRESH_MARGIN_MS) / bucketMs) * bucketMs
}

/**
 * One refresh of one aggregate over [from, to) (null: from its first bucket). TimescaleDB
 * refuses it (55P03) while another refresh of the same aggregate runs (a policy job, another
 * process): that one finishes soon, so this one waits and tries again (`db.refresh`).
 */
function refreshOne(db: LongRunner, name: string, from: number | null, to: number, clock: Clock) {
  const start = from === null ? 'NULL' : `'${new Date(from).toISOString()}'`
  const sql = `CALL refresh_continuous_aggregate('${name}', ${start}, '${new Date(to).toISOString()}')`
  return retry(() => db.execLong(sql), {
    schedule: SCHEDULES['db.refresh'],
    clock,
    random: Math.random,
    maxRetries: 5,
    retryable: isLockNotAvailable,
  })
}

/** Re-materialises the buckets holding minutes [fromMs, toMs] (those under the margin). */
export async function refreshAggregates(
  db: LongRunner,
  fromMs: number,
  toMs: number,
  nowMs: number,
  clock: Clock = systemClock,
) {
  for (const a of AGGREGATES) {
    const w = refreshWindow(a.bucketMs, fromMs, toMs, nowMs)
    if (w !== null) await refreshOne(db, a.name, w.from, w.to, clock)
  }
}

/**
 * Materialises everything up to the margin: the first time, all history (an upgraded
 * plain database, a long backfill); afterwards only what was invalidated meanwhile.
 * Where raw retention is set, the window starts at the first whole bucket after it, so a
 * refresh never reaches buckets whose minutes were dropped on purpose; an aggregate with no
 * whole bucket between the two (a retention shorter than its bucket plus the margin) is left
 * as it is rather than refused by TimescaleDB ("refresh window too small").
 */
export async function refreshAllAggregates(
  db: LongRunner,
  nowMs: number,
  retention1m: string | null,
  clock: Clock = systemClock,
) {
  const kept = retention1m === null ? null : await retentionStart(db, nowMs, retention1m)
  for (const a of AGGREGATES) {
    const end = bucketFloor(nowMs, a.bucketMs)
    const from = kept === null ? null : Math.ceil(kept / a.bucketMs) * a.bucketMs
    if (from !== null && end <= from) continue
    await refreshOne(db, a.name, from, end, clock)
  }
}

/** now − RETENTION_1M, as the database reads the interval (months and all). */
async function retentionStart(db: LongRunner, nowMs: number, retention: string): Promise<number> {
  const r = await db.query<{ ms: string }>(
    `SELECT (extract(epoch FROM (timestamptz '${new Date(nowMs).toISOString()}' - interval '${retention}')) * 1000)::int8::text AS ms`,
  )
  return Number(r.rows[0]?.ms)
}

export interface StorageRow {
  table: string
  compressedBytes: number
  uncompressedBytes: number
}

/** Bytes in compressed chunks (after compression) and in the others, per table and aggregate. */
export async function timescaleStorage(db: Queryable): Promise<StorageRow[]> {
  const r = await db.query<{ name: string; total: string | null; compressed: string | null }>(
    `SELECT t.name, hypertable_size(t.rel) AS total,
            (SELECT after_compression_total_bytes FROM hypertable_compression_stats(t.rel)) AS compressed
     FROM (SELECT h AS name, h::regclass AS rel FROM unnest($1::text[]) h
           UNION ALL
           SELECT view_name::text, format('%I.%I', materialization_hypertable_schema,
                                          materialization_hypertable_name)::regclass
           FROM timescaledb_information.continuous_aggregates
           WHERE view_schema = current_schema() AND view_name = ANY($2::text[])) t`,
    [HYPERTABLES, AGGREGATES.map((a) => a.name)],
  )
  return r.rows.map((row) => {
    const total = Number(row.total ?? 0)
    const compressed = Number(row.compressed ?? 0)
    return {
      table: row.name,
      compressedBytes: compressed,
      uncompressedBytes: Math.max(0, total - compressed),
    }
  })
}
