/** Decimal text → the unscaled integer a Parquet DECIMAL holds: exact for every digit string. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { unscaledDecimal } from '../../src/export/parquet-sink.ts'

describe('unscaledDecimal', () => {
  it('scales PostgreSQL numeric text exactly, on both sides of 15 digits', () => {
    const cases: [string, number, bigint][] = [
      ['-12.5', 3, -12500n],
      ['0', 0, 0n],
      ['0.00000001', 8, 1n],
      ['1.10', 8, 110000000n],
      ['-0.5', 1, -5n],
      ['99999999.99999999', 8, 9999999999999999n],
      ['987654321098.123456789', 9, 987654321098123456789n],
      ['123456789012345678901234567890.12345678', 8, 12345678901234567890123456789012345678n],
    ]
    for (const [text, scale, want] of cases) assert.equal(unscaledDecimal(text, scale), want, text)
  })

  it('agrees with plain string arithmetic on random decimals', () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.stringMatching(/^[1-9]\d{0,24}$|^0$/), fc.stringMatching(/^\d{0,12}$/))
      .map(([neg, int, frac]) => `${neg ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`)
    fc.assert(
      fc.property(decimal, fc.integer({ min: 0, max: 6 }), (text, extra) => {
        const frac = text.split('.')[1] ?? ''
        const scale = frac.length + extra
        const want = BigInt(text.replace('.', '') + '0'.repeat(extra))
        assert.equal(unscaledDecimal(text, scale), want)
      }),
    )
  })

  it('refuses what no DECIMAL of that scale holds', () => {
    for (const bad of ['NaN', 'Infinity', '1e5', '', '-', '1.2.3', ' 1'])
      assert.throws(() => unscaledDecimal(bad, 8), { code: 'EXPORT_VALUE' }, bad)
    assert.throws(() => unscaledDecimal('1.123', 2), /more than 2 decimals/)
  })
})
