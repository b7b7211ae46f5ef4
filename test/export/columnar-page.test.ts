/**
 * A columnar page as PostgreSQL sends it (big-endian int8 / timestamptz / float8 /
 * int4, text joined by the separator, null bit words) → typed columns; and the page
 * shapes that must fail the export rather than shift values.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodePage, type TextValues } from '../../src/export/columnar-page.ts'
import { lane } from '../helpers/export-lanes.ts'

const PG_EPOCH_US = 946_684_800_000_000n
const LANES = [
  lane('open_time', 'time', 'ts'),
  lane('close', 'decimal', 'i64'),
  lane('spread_bps', 'double', 'f64'),
  lane('window_count', 'int32', 'i32'),
  lane('status', 'text', 'text'),
]

function be(width: 4 | 8, values: (bigint | number)[], float = false): Buffer {
  const b = Buffer.alloc(values.length * width)
  values.forEach((v, i) => {
    if (float) b.writeDoubleBE(v as number, i * 8)
    else if (width === 8) b.writeBigInt64BE(BigInt(v), i * 8)
    else b.writeInt32BE(Number(v), i * 4)
  })
  return b
}

/** Three minutes from 2024-03-01T00:00Z; the second has no candle (nulls in close and spread). */
function page(over: Record<string, unknown> = {}): Record<string, unknown> {
  const t0 = BigInt(Date.parse('2024-03-01T00:00:00Z')) * 1000n
  return {
    n: 3,
    c0: be(
      8,
      [t0, t0 + 60_000_000n, t0 + 120_000_000n].map((t) => t - PG_EPOCH_US),
    ),
    c1: be(8, [6_100_012_345_678n, 0n, -1n]),
    c2: be(8, [1.5, 0, -0.25], true),
    c3: be(4, [60, 0, 2 ** 31 - 1]),
    c4: ['stored', 'missing', 'stored'].join('\x1e'),
    z0: be(4, [0, 0b0_0110, 0]),
    ...over,
  }
}

describe('decodePage', () => {
  it('turns packed big-endian columns into typed arrays, times on the Unix epoch, nulls as masks', () => {
    const p = decodePage(page(), LANES)
    assert.equal(p.n, 3)
    const t0 = BigInt(Date.parse('2024-03-01T00:00:00Z')) * 1000n
    assert.deepEqual([...(p.values[0] as BigInt64Array)], [t0, t0 + 60_000_000n, t0 + 120_000_000n])
    assert.deepEqual([...(p.values[1] as BigInt64Array)], [6_100_012_345_678n, 0n, -1n])
    assert.deepEqual([...(p.values[2] as Float64Array)], [1.5, 0, -0.25])
    assert.deepEqual([...(p.values[3] as Int32Array)], [60, 0, 2 ** 31 - 1])
    const status = p.values[4] as TextValues
    assert.deepEqual(
      [...status.codes].map((c) => status.dict[c]),
      ['stored', 'missing', 'stored'],
    )
    assert.equal(p.nulls[0], null)
    assert.deepEqual([...(p.nulls[1] as Uint8Array)], [0, 1, 0])
    assert.deepEqual([...(p.nulls[2] as Uint8Array)], [0, 1, 0])
    assert.equal(p.nulls[3], null)
  })

  it('carries a time before 2000 (negative on PostgreSQL’s epoch) exactly', () => {
    const t = BigInt(Date.parse('1999-12-31T23:59:00Z')) * 1000n
    const p = decodePage(
      {
        ...page(),
        n: 1,
        c0: be(8, [t - PG_EPOCH_US]),
        c1: be(8, [1n]),
        c2: be(8, [1], true),
        c3: be(4, [1]),
        c4: 'stored',
        z0: be(4, [0]),
      },
      LANES,
    )
    assert.deepEqual([...(p.values[0] as BigInt64Array)], [t])
  })

  it('scales a numeric column (binary numerics) to the scale the file declares, and needs that scale', () => {
    // numeric_send: ndigits, weight, sign, dscale, then base-10 000 digits.
    const numeric = (weight: number, sign: number, dscale: number, digits: number[]) => {
      const b = Buffer.alloc(8 + 2 * digits.length)
      b.writeInt16BE(digits.length, 0)
      b.writeInt16BE(weight, 2)
      b.writeUInt16BE(sign, 4)
      b.writeUInt16BE(dscale, 6)
      for (const [i, d] of digits.entries()) b.writeInt16BE(d, 8 + 2 * i)
      return b
    }
    const lanes = [...LANES.slice(0, 1), lane('close', 'decimal', 'num'), ...LANES.slice(2)]
    const c1 = Buffer.concat([
      numeric(1, 0, 8, [6, 1000, 1234, 5678]), // 61000.12345678
      numeric(0, 0, 0, []), // 0 (a null's stand-in)
      numeric(-1, 0x4000, 2, [5000]), // -0.5
    ])
    const p = decodePage(page({ c1 }), lanes, new Map([['close', { scale: 8, precision: 13 }]]))
    assert.deepEqual([...(p.values[1] as BigInt64Array)], [6_100_012_345_678n, 0n, -50_000_000n])
    assert.deepEqual([...(p.nulls[1] as Uint8Array)], [0, 1, 0])
    assert.throws(() => decodePage(page({ c1 }), lanes), { code: 'EXPORT_PAGE', message: /close: no scale/ })
  })

  it('an empty page is no rows', () => {
    assert.equal(decodePage({ n: 0, c0: null }, LANES).n, 0)
    assert.equal(decodePage(undefined, LANES).n, 0)
  })

  it('refuses minutes out of order (the columns would not line up)', () => {
    const t0 = BigInt(Date.parse('2024-03-01T00:00:00Z')) * 1000n - PG_EPOCH_US
    assert.throws(() => decodePage(page({ c0: be(8, [t0, t0 + 120_000_000n, t0 + 60_000_000n]) }), LANES), {
      code: 'EXPORT_PAGE',
      message: /out of minute order at row 1/,
    })
  })

  it('refuses a text value holding the separator, and a column of the wrong length', () => {
    assert.throws(() => decodePage(page({ c4: 'stored\x1emis\x1esing\x1estored' }), LANES), {
      code: 'EXPORT_PAGE',
      message: /status: not 3 values/,
    })
    assert.throws(() => decodePage(page({ c1: be(8, [1n, 2n]) }), LANES), {
      code: 'EXPORT_PAGE',
      message: /close: 16 bytes for 3 values of 8/,
    })
    assert.throws(() => decodePage(page({ c2: 'not bytes' }), LANES), {
      code: 'EXPORT_PAGE',
      message: /spread_bps: expected bytes/,
    })
  })
})
