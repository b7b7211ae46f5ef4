/**
 * One export, from the database to an output: the range is read a page of minutes
 * at a time (the next page is asked for while the current one is written), so
 * memory holds a page and one Parquet row group, never the range.
 */
import { MINUTE_MS } from '../core/records.ts'
import type { Queryable } from '../store/db.ts'
import { exportColumnarQuery } from '../store/export-columnar.ts'
import {
  csvHeader,
  decimalShapes,
  exportColumns,
  exportPageQuery,
  hasQuoteTimeColumn,
  isoDateStyle,
} from '../store/export-queries.ts'
import type { ExportOutput } from './export-output.ts'
import { parquetSink, type RowSink } from './parquet-thread.ts'

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
 * busy on as many connections; Parquet is bound by its encoding thread, which a second page
 * ahead keeps fed (more only held memory; measured: docs/PERFORMANCE.md).
 */
const LOOKAHEAD_PAGES = { csv: 3, parquet: 2 } as const

export class ExportAborted extends Error {
  readonly code = 'EXPORT_INTERRUPTED'
}

export async function exportRange(
  db: Queryable,
  plan: ExportPlan,
  out: ExportOutput,
  opts: { onRows?(n: number): void; signal?: AbortSignal; pageMinutes?: number } = {},
): Promise<{ rows: number }> {
  const cols = exportColumns(plan.windows, await hasQuoteTimeColumn(db))
  let sink: () => Promise<RowSink>
  let query: { text: string }
  if (plan.format === 'csv') {
    query = exportPageQuery(cols, plan.windows, await isoDateStyle(db))
    await out.write(`${csvHeader(cols)}\n`)
    const lines: RowSink = {
      add: async (rows) => {
        if (rows.length > 0) await out.write(`${rows.map((r) => r.line).join('\n')}\n`)
        return rows.length
      },
      finish: async () => {},
    }
    sink = async () => lines
  } else {
    const columnar = exportColumnarQuery(cols, plan.windows)
    query = columnar
    // The pass that sizes the file's decimals runs beside the first pages (they do not depend
    // on it: numerics travel in binary), and the encoder starts once it is in.
    const shapes = decimalShapes(db, cols, plan.market, plan.symbol, plan.from, plan.to)
    shapes.catch(() => {}) // awaited below; a failure is thrown from there
    sink = async () =>
      parquetSink(out, columnar.lanes, await shapes, {
        'data-feeder.export': JSON.stringify({
          market: plan.market,
          symbol: plan.symbol,
          from: new Date(plan.from).toISOString(),
          to: new Date(plan.to).toISOString(),
          windows: plan.windows,
        }),
      })
  }
  const step = (opts.pageMinutes ?? PAGE_MINUTES) * MINUTE_MS
  const page = (start: number) =>
    db.query<Record<string, unknown>>(query.text, [
      plan.market,
      plan.symbol,
      new Date(start).toISOString(),
      new Date(Math.min(plan.to, start + step - MINUTE_MS)).toISOString(),
    ])
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
  let open: RowSink | null = null
  try {
    open = await sink()
    const rows = await pump(open)
    await open.finish()
    return { rows }
  } catch (err) {
    await Promise.allSettled(ahead)
    throw err
  } finally {
    await open?.close?.()
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
