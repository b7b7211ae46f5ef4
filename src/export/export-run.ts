/**
 * One export, from the database to an output: the range is read a page of minutes
 * at a time (the next page is asked for while the current one is written), so
 * memory holds a page and one Parquet row group, never the range.
 */
import { MINUTE_MS } from '../core/records.ts'
import type { Queryable } from '../store/db.ts'
import {
  csvHeader,
  decimalShapes,
  exportColumns,
  exportPageQuery,
  hasQuoteTimeColumn,
  isoDateStyle,
} from '../store/export-queries.ts'
import type { ExportOutput } from './export-output.ts'
import { parquetSink, type RowSink } from './parquet-sink.ts'

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
 * busy on as many connections; Parquet is bound by the encoding here, where a page more in
 * flight is only more memory (measured: docs/PERFORMANCE.md).
 */
const LOOKAHEAD_PAGES = { csv: 3, parquet: 1 } as const

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
  const form = plan.format === 'csv' ? 'csv' : 'typed'
  const query = exportPageQuery(cols, plan.windows, form, form === 'csv' && (await isoDateStyle(db)))
  let sink: RowSink
  if (plan.format === 'csv') {
    await out.write(`${csvHeader(cols)}\n`)
    sink = {
      add: (rows) =>
        rows.length === 0 ? Promise.resolve() : out.write(`${rows.map((r) => r.line).join('\n')}\n`),
      finish: async () => {},
    }
  } else {
    const shapes = await decimalShapes(db, cols, plan.market, plan.symbol, plan.from, plan.to)
    sink = parquetSink(out, cols, shapes, {
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
  let rows = 0
  try {
    for (askAhead(); ahead.length > 0; askAhead()) {
      const current = await (ahead.shift() as Promise<{ rows: Record<string, unknown>[] }>)
      if (opts.signal?.aborted) throw new ExportAborted('export interrupted')
      askAhead()
      await sink.add(current.rows)
      rows += current.rows.length
      opts.onRows?.(current.rows.length)
    }
  } catch (err) {
    await Promise.allSettled(ahead)
    throw err
  }
  await sink.finish()
  return { rows }
}
