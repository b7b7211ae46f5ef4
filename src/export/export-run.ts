/**
 * One export, from the database to an output: the range is read a page of minutes
 * at a time (the next page is asked for while the current one is written), so
 * memory holds a page and one Parquet row group, never the range.
 */
import { MINUTE_MS } from '../core/records.ts'
import type { Db, Queryable } from '../store/db.ts'
import { type ColumnarQuery, exportColumnarQuery, exportCopyQuery } from '../store/export-columnar.ts'
import {
  csvHeader,
  decimalShapes,
  exportColumns,
  exportPageQuery,
  hasQuoteTimeColumn,
  isoDateStyle,
} from '../store/export-queries.ts'
import type { ColumnarPage } from './columnar-page.ts'
import { CopyPageReader } from './copy-binary.ts'
import type { ExportOutput } from './export-output.ts'
import { type PageSink, parquetSink, type RowSink } from './parquet-thread.ts'

export interface ExportPlan {
  readonly market: string
  readonly symbol: string
  /** First and last minute (open times, ms), inclusive. */
  readonly from: number
  readonly to: number
  readonly windows: readonly number[]
  readonly format: 'parquet' | 'csv'
}

/** Minutes per query: a page's rows stay small on the wire and in PGlite's worker messages. */
export const PAGE_MINUTES = 10_000

/**
 * Pages in flight at once. CSV is bound by the database's formatting, so three pages keep it
 * busy on as many connections; Parquet (on the embedded database, whose pages queue in its
 * worker anyway) keeps a second page ahead.
 */
const LOOKAHEAD_PAGES = { csv: 3, parquet: 2 } as const

/**
 * Settings for the export's statements. JIT off: a long range costs enough for PostgreSQL to
 * JIT-compile, and on TimescaleDB that means every chunk's expressions, seconds for a query
 * that runs in less. Nested loops off: before ANALYZE has seen freshly loaded rows (right after
 * a backfill) the planner expects one row per range scan and nested-loops every minute against
 * the whole materialised range, quadratic in the range (20 000 minutes: 28 s against 0.5 s);
 * with statistics it merge-joins the ranges either way.
 */
export const EXPORT_SETTINGS = { jit: 'off', enable_nestloop: 'off' } as const

/** EXPORT_SETTINGS for one transaction (a page), in one round trip. */
const SET_LOCAL = {
  text: `SELECT ${Object.keys(EXPORT_SETTINGS)
    .map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`)
    .join(', ')}`,
  values: Object.entries(EXPORT_SETTINGS).flat(),
}

export class ExportAborted extends Error {
  readonly code = 'EXPORT_INTERRUPTED'
}

export async function exportRange(
  db: Queryable & Pick<Db, 'tx' | 'copyOut'>,
  plan: ExportPlan,
  out: ExportOutput,
  opts: ExportOptions = {},
): Promise<{ rows: number }> {
  const cols = exportColumns(plan.windows, await hasQuoteTimeColumn(db))
  if (plan.format === 'csv') {
    const query = exportPageQuery(cols, plan.windows, await isoDateStyle(db))
    await out.write(`${csvHeader(cols)}\n`)
    const lines: RowSink = {
      add: async (rows) => {
        if (rows.length > 0) await out.write(`${rows.map((r) => r.line).join('\n')}\n`)
        return rows.length
      },
      finish: async () => {},
    }
    return pagedExport(db, plan, query, async () => lines, opts)
  }
  // The pass that sizes the file's decimals runs beside the first rows (they do not depend on
  // it: numerics travel in binary), and the encoder starts once it is in.
  const shapes = decimalShapes(db, cols, plan.market, plan.symbol, plan.from, plan.to)
  shapes.catch(() => {}) // awaited when the sink opens; a failure is thrown from there
  const lanes = exportColumnarQuery(cols, plan.windows).lanes
  const open = async () => parquetSink(out, lanes, await shapes, fileMetadata(plan))
  const copyOut = db.copyOut?.bind(db)
  if (copyOut)
    return copiedExport(
      (sql) => copyOut(sql, EXPORT_SETTINGS),
      exportCopyQuery(cols, plan.windows, plan),
      open,
      opts,
    )
  return pagedExport(db, plan, exportColumnarQuery(cols, plan.windows), open, opts)
}

export interface ExportOptions {
  onRows?(n: number): void
  signal?: AbortSignal
  pageMinutes?: number
}

function fileMetadata(plan: ExportPlan): Record<string, string> {
  return {
    'data-feeder.export': JSON.stringify({
      market: plan.market,
      symbol: plan.symbol,
      from: new Date(plan.from).toISOString(),
      to: new Date(plan.to).toISOString(),
      windows: plan.windows,
    }),
  }
}

/**
 * PostgreSQL, Parquet: the range as one binary COPY, parsed into pages as it streams (read no
 * faster than the encoder takes it). The database does for the export what it does for
 * `psql \copy`: one pass, each value by its send function.
 */
async function copiedExport(
  copyOut: (sql: string) => AsyncIterable<Uint8Array>,
  query: ColumnarQuery,
  open: () => Promise<PageSink>,
  opts: ExportOptions,
): Promise<{ rows: number }> {
  const stream = copyOut(query.text)[Symbol.asyncIterator]()
  // Started now: the connection and the statement's first rows come while the shapes are measured.
  let next = stream.next()
  next.catch(() => {}) // awaited below
  let sink: PageSink | null = null
  try {
    sink = await open()
    const reader = new CopyPageReader(query.lanes, sink.decimals, opts.pageMinutes ?? PAGE_MINUTES)
    let rows = 0
    const take = async (page: ColumnarPage) => {
      const n = await (sink as PageSink).addPage(page)
      rows += n
      if (n > 0) opts.onRows?.(n)
    }
    for (let r = await next; !r.done; r = await next) {
      if (opts.signal?.aborted) throw new ExportAborted('export interrupted')
      for (const page of reader.push(r.value)) await take(page)
      next = stream.next()
    }
    await take(reader.end())
    await sink.finish()
    return { rows }
  } finally {
    await stream.return?.()
    await sink?.close?.()
  }
}

/**
 * Page by page (every CSV export; Parquet on the embedded database): the next pages are asked
 * for while the current one is written.
 */
async function pagedExport(
  db: Pick<Db, 'tx'>,
  plan: ExportPlan,
  query: { text: string },
  open: () => Promise<RowSink>,
  opts: ExportOptions,
): Promise<{ rows: number }> {
  const step = (opts.pageMinutes ?? PAGE_MINUTES) * MINUTE_MS
  const page = (start: number) =>
    db.tx(async (q) => {
      await q.query(SET_LOCAL.text, SET_LOCAL.values)
      return q.query<Record<string, unknown>>(query.text, [
        plan.market,
        plan.symbol,
        new Date(start).toISOString(),
        new Date(Math.min(plan.to, start + step - MINUTE_MS)).toISOString(),
      ])
    })
  // Pages asked for ahead, read while the current one is written: on PostgreSQL each runs on
  // its own connection (the pool's), on PGlite they queue in its worker.
  const ahead: Promise<{ rows: Record<string, unknown>[] }>[] = []
  let asked = plan.from
  const askAhead = () => {
    while (ahead.length < LOOKAHEAD_PAGES[plan.format] && asked <= plan.to) {
      ahead.push(page(asked))
      asked += step
    }
  }
  askAhead()
  let sink: RowSink | null = null
  try {
    sink = await open()
    const rows = await pump(sink)
    await sink.finish()
    return { rows }
  } catch (err) {
    await Promise.allSettled(ahead)
    throw err
  } finally {
    await sink?.close?.()
  }

  async function pump(into: RowSink): Promise<number> {
    let rows = 0
    for (askAhead(); ahead.length > 0; askAhead()) {
      const current = await (ahead.shift() as Promise<{ rows: Record<string, unknown>[] }>)
      if (opts.signal?.aborted) throw new ExportAborted('export interrupted')
      askAhead()
      const minutes = await into.add(current.rows)
      rows += minutes
      opts.onRows?.(minutes)
    }
    return rows
  }
}
