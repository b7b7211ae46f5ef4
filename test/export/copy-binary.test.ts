/**
 * The binary COPY parser: a real PostgreSQL's `COPY … TO STDOUT (FORMAT binary)`, cut into
 * chunks at every kind of boundary, gives the same pages; streams that are not what the
 * export asked for fail with EXPORT_PAGE instead of shifting values.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type ColumnarPage, isText } from '../../src/export/columnar-page.ts'
import { CopyPageReader } from '../../src/export/copy-binary.ts'
import { openTestDb, type TestDb } from '../helpers/db.ts'
import { lane } from '../helpers/export-lanes.ts'

const LANES = [
  lane('open_time', 'time', 'ts'),
  lane('close', 'decimal', 'num'),
  lane('quote_volume', 'decimal', 'num'),
  lane('trades', 'int64', 'i64'),
  lane('spread_bps', 'double', 'f64'),
  lane('window_count', 'int32', 'i32'),
  lane('status', 'text', 'text'),
]
const DECIMALS = new Map([
  ['close', { scale: 8, precision: 13 }],
  ['quote_volume', { scale: 9, precision: 24 }],
])
// The minutes start 1999-12-31T23:58Z: across PostgreSQL's epoch, negative and positive times.
const ROWS = 25

const SELECT = `SELECT t AS open_time,
    CASE WHEN i % 5 = 3 THEN NULL ELSE (61000.12345678 - i * 0.5)::numeric END AS close,
    CASE WHEN i % 4 = 0 THEN NULL ELSE (987654321098.123456789 * (i - 12))::numeric END AS quote_volume,
    CASE WHEN i % 6 = 1 THEN NULL ELSE i::int8 * 1000000007 - 5 END AS trades,
    CASE WHEN i % 7 = 2 THEN NULL ELSE i / 3.0 - 4 END::float8 AS spread_bps,
    CASE WHEN i % 3 = 0 THEN NULL ELSE i - 10 END::int4 AS window_count,
    CASE WHEN i % 9 = 4 THEN NULL WHEN i % 2 = 0 THEN 'stored' ELSE 'missïng' END AS status
  FROM generate_series(0, ${ROWS - 1}) i, LATERAL (SELECT timestamptz '1999-12-31T23:58:00Z' + i * interval '1 minute' AS t) x
  ORDER BY i`

async function copied(t: TestDb, sql: string): Promise<Uint8Array> {
  const copyOut = t.db.copyOut?.bind(t.db)
  assert.ok(copyOut, 'PostgreSQL has copyOut')
  const parts: Uint8Array[] = []
  for await (const c of copyOut(`COPY (${sql}) TO STDOUT (FORMAT binary)`)) parts.push(c)
  return Buffer.concat(parts)
}

/** All pages of a stream fed in chunks of `size` bytes (the last page included). */
function parse(bytes: Uint8Array, size: number, pageRows = 10): ColumnarPage[] {
  const reader = new CopyPageReader(LANES, DECIMALS, pageRows)
  const pages: ColumnarPage[] = []
  for (let at = 0; at < bytes.length; at += size) pages.push(...reader.push(bytes.subarray(at, at + size)))
  pages.push(reader.end())
  return pages
}

/** A page's rows as plain values (null where the mask says so), for comparison. */
function rows(pages: ColumnarPage[]): unknown[][] {
  const out: unknown[][] = []
  for (const p of pages)
    for (let r = 0; r < p.n; r++)
      out.push(
        p.values.map((v, i) =>
          p.nulls[i]?.[r] === 1
            ? null
            : isText(v)
              ? v.dict[v.codes[r] as number]
              : (v as ArrayLike<unknown>)[r],
        ),
      )
  return out
}

describe('CopyPageReader', {
  skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL',
}, () => {
  let t: TestDb
  let bytes: Uint8Array
  let want: unknown[][]
  before(async () => {
    t = await openTestDb('postgres', { migrated: false })
    bytes = await copied(t, SELECT)
    // The same rows, computed by the database as the values the file must hold.
    const r = await t.db.query<Record<string, string | null>>(
      `SELECT ((extract(epoch FROM open_time) * 1000000)::int8)::text AS t, (close * 100000000)::int8::text AS close,
              (quote_volume * 1000000000)::numeric(40)::text AS qv, trades::text, spread_bps::text, window_count::text, status
         FROM (${SELECT}) s`,
    )
    const big = (v: string | null | undefined) => (v == null ? null : BigInt(v))
    const num = (v: string | null | undefined) => (v == null ? null : Number(v))
    want = r.rows.map((x) => [
      big(x.t),
      big(x.close),
      big(x.qv),
      big(x.trades),
      num(x.spread_bps),
      num(x.window_count),
      x.status,
    ])
  })
  after(() => t.cleanup())

  it('turns every value into its column exactly, whatever the chunk boundaries', () => {
    const whole = parse(bytes, bytes.length)
    assert.deepEqual(
      whole.map((p) => p.n),
      [10, 10, 5],
    )
    assert.deepEqual(rows(whole), want)
    for (const size of [1, 2, 3, 7, 19, 64, 1000])
      assert.deepEqual(rows(parse(bytes, size)), want, `chunks of ${size}`)
    // A column without a null in a page has no mask; a wide decimal arrives as bigints.
    const first = whole[0] as ColumnarPage
    assert.equal(first.nulls[0], null)
    assert.ok(Array.isArray(first.values[2]))
    assert.ok(first.values[1] instanceof BigInt64Array)
  })

  it('refuses a stream cut short, a foreign stream, data after the end, and a row of the wrong shape', async () => {
    const reader = () => new CopyPageReader(LANES, DECIMALS, 10)
    const cut = reader()
    cut.push(bytes.subarray(0, bytes.length - 40))
    assert.throws(() => cut.end(), { code: 'EXPORT_PAGE', message: /ended early/ })
    assert.throws(() => reader().push(Buffer.from('open_time,close\n1,2\n3,4\n')), {
      code: 'EXPORT_PAGE',
      message: /not a binary COPY stream/,
    })
    assert.throws(() => reader().push(Buffer.concat([bytes, Buffer.from([0, 1])])), {
      code: 'EXPORT_PAGE',
      message: /after the end/,
    })
    const fewer = await copied(t, 'SELECT now() AS open_time, 1::numeric AS close')
    assert.throws(() => reader().push(fewer), {
      code: 'EXPORT_PAGE',
      message: /a COPY row of 2 fields, not 7/,
    })
    const wrongType = await copied(
      t,
      `SELECT timestamptz '2000-01-01Z', 1::numeric, 1::numeric, 1::int4, 1::float8, 1::int4, 'x'`,
    )
    assert.throws(() => reader().push(wrongType), { code: 'EXPORT_PAGE', message: /trades: 4 bytes, not 8/ })
    const order = await copied(
      t,
      `SELECT t, 1::numeric, 1::numeric, 1::int8, 1::float8, 1::int4, 'x'
         FROM unnest(ARRAY[timestamptz '2024-01-01T00:00Z', '2024-01-01T00:02Z']) t`,
    )
    assert.throws(() => reader().push(order), { code: 'EXPORT_PAGE', message: /out of minute order/ })
    assert.throws(() => new CopyPageReader(LANES, new Map(), 10), {
      code: 'EXPORT_PAGE',
      message: /close: no scale/,
    })
  })
})
