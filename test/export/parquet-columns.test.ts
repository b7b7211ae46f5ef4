/**
 * The Parquet writer on its own: columnar pages in, a file out, read back by DuckDB (an
 * independent reader) value for value, with the row groups split across pages, text
 * dictionaries merged across pages, nulls, negative int64s, NaN and signed zeros, and the
 * column statistics a reader prunes with.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { type ColumnarPage, textValues } from '../../src/export/columnar-page.ts'
import { parquetEncoder, parquetSchema } from '../../src/export/parquet-sink.ts'
import { lane } from '../helpers/export-lanes.ts'

const LANES = [
  lane('open_time', 'time', 'ts'),
  lane('close', 'decimal', 'num'),
  lane('trades', 'int64', 'i64'),
  lane('spread_bps', 'double', 'f64'),
  lane('window_count', 'int32', 'i32'),
  lane('status', 'text', 'text'),
  lane('quote_volume', 'decimal', 'num'),
]
const SHAPES = new Map([
  ['close', { intDigits: 6, scale: 2 }],
  ['quote_volume', { intDigits: 20, scale: 3 }],
])
const T0 = BigInt(Date.parse('2024-03-01T00:00:00Z')) * 1000n

interface Row {
  t: bigint
  close: bigint | null
  trades: bigint | null
  spread: number | null
  count: number | null
  status: string | null
  qv: bigint | null
}

function rowAt(i: number): Row {
  return {
    t: T0 + BigInt(i) * 60_000_000n,
    close: i % 5 === 2 ? null : BigInt(i * 37 - 100),
    trades: i % 4 === 1 ? null : BigInt(i) * -3_000_000_007n,
    spread: i % 6 === 3 ? null : i % 7 === 0 ? Number.NaN : i % 7 === 1 ? -0 : i / 8 - 1,
    count: i % 3 === 0 ? null : i - 9,
    status:
      i % 9 === 4
        ? null
        : (['stored', 'missing', 'in_progress', 'confirmed_empty'][i % 4 === 3 ? 2 : i % 2] ?? ''),
    qv: i % 8 === 5 ? null : (10n ** 22n + BigInt(i)) * (i % 2 === 0 ? 1n : -1n),
  }
}

/** Rows [a, b) as a columnar page, each column with its null mask when it has a null. */
function page(a: number, b: number, statusText?: (i: number) => string | null): ColumnarPage {
  const rows = Array.from({ length: b - a }, (_, k) => rowAt(a + k))
  if (statusText) for (const [k, r] of rows.entries()) r.status = statusText(a + k)
  const mask = (pick: (r: Row) => unknown) => {
    const m = Uint8Array.from(rows, (r) => (pick(r) === null ? 1 : 0))
    return m.some((x) => x === 1) ? m : null
  }
  return {
    n: rows.length,
    values: [
      BigInt64Array.from(rows, (r) => r.t),
      BigInt64Array.from(rows, (r) => r.close ?? 0n),
      BigInt64Array.from(rows, (r) => r.trades ?? 0n),
      Float64Array.from(rows, (r) => r.spread ?? 0),
      Int32Array.from(rows, (r) => r.count ?? 0),
      textValues(rows.map((r) => r.status ?? '')),
      rows.map((r) => r.qv ?? 0n),
    ],
    nulls: [
      null,
      mask((r) => r.close),
      mask((r) => r.trades),
      mask((r) => r.spread),
      mask((r) => r.count),
      mask((r) => r.status),
      mask((r) => r.qv),
    ],
  }
}

const rows40 = () => Array.from({ length: 40 }, (_, i) => rowAt(i))

async function write(file: string, pages: ColumnarPage[], groupRows: number): Promise<void> {
  const parts: Uint8Array[] = []
  const enc = parquetEncoder(
    { write: async (b) => void parts.push(b as Uint8Array) },
    LANES,
    parquetSchema(LANES, SHAPES),
    { 'data-feeder.export': '{}' },
    groupRows,
  )
  for (const p of pages) await enc.addPage(p)
  await enc.finish()
  writeFileSync(file, Buffer.concat(parts))
}

describe('parquetEncoder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'feeder-parquet-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('writes row groups across pages that DuckDB reads back value for value, with statistics', async () => {
    const file = join(dir, 'a.parquet')
    // 40 rows in pages of 10, 13 and 17, row groups of at least 15 rows: a group ends with the page
    // that fills it (10 + 13, then 17), so the first merges two pages' dictionaries.
    await write(file, [page(0, 10), page(10, 23), page(23, 40)], 15)
    const con = await (await DuckDBInstance.create(':memory:')).connect()
    const got = (
      await con.runAndReadAll(
        `SELECT epoch_us(open_time) AS t, close::VARCHAR AS close, trades, spread_bps, window_count, status,
                quote_volume::VARCHAR AS qv FROM '${file}'`,
      )
    ).getRowObjectsJS()
    assert.equal(got.length, 40)
    const dec = (v: bigint | null, scale: number) => {
      if (v === null) return null
      const s = (v < 0n ? -v : v).toString().padStart(scale + 1, '0')
      return `${v < 0n ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`
    }
    for (const [i, g] of got.entries()) {
      const w = rowAt(i)
      assert.equal(g.t, w.t, `row ${i}`)
      assert.equal(g.close, dec(w.close, 2), `close ${i}`)
      assert.equal(g.trades, w.trades, `trades ${i}`)
      if (w.spread === null) assert.equal(g.spread_bps, null)
      else assert.ok(Object.is(g.spread_bps, w.spread), `spread ${i}: ${g.spread_bps} vs ${w.spread}`)
      assert.equal(g.window_count, w.count, `count ${i}`)
      assert.equal(g.status, w.status, `status ${i}`)
      assert.equal(g.qv, dec(w.qv, 3), `quote_volume ${i}`)
    }
    const meta = (
      await con.runAndReadAll(
        `SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value, stats_null_count, row_group_num_rows
           FROM parquet_metadata('${file}') ORDER BY row_group_id, column_id`,
      )
    ).getRowObjectsJS()
    const groups = [...new Set(meta.map((m) => m.row_group_id))]
    assert.deepEqual(
      groups.map((g) => meta.find((m) => m.row_group_id === g)?.row_group_num_rows),
      [23n, 17n],
    )
    const stat = (g: number, col: string) =>
      meta.find((m) => m.row_group_id === BigInt(g) && m.path_in_schema === col)
    // Row group 1 holds rows 23..39: trades fall with the row (nulls where i % 4 = 1: 25, 29, 33, 37).
    const trades = stat(1, 'trades')
    assert.equal(trades?.stats_min_value, String(39n * -3_000_000_007n))
    assert.equal(trades?.stats_max_value, String(23n * -3_000_000_007n))
    assert.equal(trades?.stats_null_count, 4n)
    // A chunk holding a NaN has no min/max (readers would prune its NaN rows with them), and
    // filters on it find every row they should.
    assert.equal(stat(0, 'spread_bps')?.stats_min_value, null)
    const spreads = rows40().flatMap((r) => (r.spread === null ? [] : [r.spread]))
    const filtered = (
      await con.runAndReadAll(
        `SELECT count(*) FILTER (WHERE spread_bps > 1) AS big, count(*) FILTER (WHERE isnan(spread_bps)) AS nan FROM '${file}'`,
      )
    ).getRowObjectsJS()[0]
    assert.deepEqual(
      [filtered?.big, filtered?.nan],
      // DuckDB orders NaN above every number, so `> 1` holds for NaN too.
      [
        BigInt(spreads.filter((x) => x > 1 || Number.isNaN(x)).length),
        BigInt(spreads.filter(Number.isNaN).length),
      ],
    )
    const status = stat(0, 'status')
    assert.equal(status?.stats_min_value, 'in_progress')
    assert.equal(status?.stats_max_value, 'stored')
  })

  it('writes a text column of many distinct values plainly, and an all-null column', async () => {
    const file = join(dir, 'b.parquet')
    const n = 5000
    await write(file, [page(0, 2500, (i) => `v${i}`), page(2500, n, (i) => (i === 4999 ? null : `v${i}`))], n)
    const con = await (await DuckDBInstance.create(':memory:')).connect()
    const r = (
      await con.runAndReadAll(
        `SELECT count(DISTINCT status) AS d, count(status) AS c, min(status) AS lo FROM '${file}'`,
      )
    ).getRowObjectsJS()[0]
    assert.deepEqual([r?.d, r?.c, r?.lo], [4999n, 4999n, 'v0'])
    const encodings = (
      await con.runAndReadAll(
        `SELECT encodings FROM parquet_metadata('${file}') WHERE path_in_schema = 'status'`,
      )
    ).getRowObjectsJS()[0]
    assert.doesNotMatch(String(encodings?.encodings), /DICTIONARY/)

    const nulls = join(dir, 'c.parquet')
    await write(nulls, [page(0, 3, () => null)], 10)
    const c = (
      await con.runAndReadAll(`SELECT count(status) AS c, count(*) AS n FROM '${nulls}'`)
    ).getRowObjectsJS()[0]
    assert.deepEqual([c?.c, c?.n], [0n, 3n])
  })
})
