/**
 * PostgreSQL's binary numerics (numeric_send, as the database itself sends them) → the
 * unscaled integers of a Parquet DECIMAL: exact on both sides of 2^53 and for decimals
 * wider than an int8, and refusing what the declared DECIMAL does not hold.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { type NumericColumn, unscaledNumerics } from '../../src/export/numeric-binary.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'

/** The decimal texts as one packed bytea, in order, from the database. */
async function sent(t: TestDb, texts: readonly string[]): Promise<Uint8Array> {
  const r = await t.db.query<{ b: Uint8Array | null }>(
    `SELECT string_agg(numeric_send(x::numeric), ''::bytea ORDER BY i) AS b
       FROM unnest($1::text[]) WITH ORDINALITY u(x, i)`,
    [texts],
  )
  return r.rows[0]?.b ?? new Uint8Array()
}

/** The exact unscaled integer by string arithmetic. */
function want(text: string, scale: number): bigint {
  const [int = '', frac = ''] = text.replace('-', '').split('.')
  const digits = BigInt(int + frac.padEnd(scale, '0'))
  return text.startsWith('-') ? -digits : digits
}

const col = (scale: number, precision: number): NumericColumn => ({ name: 'price', scale, precision })
const decoded = (v: BigInt64Array | bigint[]) => [...v]

/** numeric_send of NaN and ±Infinity: no digits, the sign word says which. */
const special = (sign: number) => Uint8Array.of(0, 0, 0, 0, sign, 0, 0, 0)

for (const kind of pgTargets()) {
  describe(`unscaledNumerics on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind, { migrated: false })
    })
    after(() => t.cleanup())

    it('scales exactly: zeros, signs, fractions shorter than a base-10 000 digit, past 2^53', async () => {
      const texts = [
        '0',
        '-0.5',
        '0.00000001',
        '1.10',
        '61000.12345678',
        '-12.5',
        '99999999.99999999',
        '90071992.54740993',
        '-9999999999.99999999',
        '10000',
        '0.0001',
      ]
      const got = unscaledNumerics(await sent(t, texts), texts.length, col(8, 18))
      assert.ok(got instanceof BigInt64Array)
      assert.deepEqual(
        decoded(got),
        texts.map((x) => want(x, 8)),
      )
    })

    it('holds a decimal wider than an int8 as bigints', async () => {
      const texts = ['987654321098.123456789', '-123456789012345678901234567890.12345678', '0']
      const got = unscaledNumerics(await sent(t, texts), texts.length, col(9, 39))
      assert.ok(Array.isArray(got))
      assert.deepEqual(
        got,
        texts.map((x) => want(x, 9)),
      )
    })

    it('agrees with string arithmetic on random decimals, narrow and wide', async () => {
      const decimal = fc
        .tuple(fc.boolean(), fc.stringMatching(/^[1-9]\d{0,19}$|^0$/), fc.stringMatching(/^\d{0,9}$/))
        .map(([neg, int, frac]) => `${neg && int !== '0' ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`)
      const samples = fc.sample(fc.array(decimal, { minLength: 1, maxLength: 40 }), { numRuns: 60, seed: 16 })
      for (const texts of samples) {
        const scale = Math.max(...texts.map((x) => x.split('.')[1]?.length ?? 0)) + 1
        const digits = Math.max(...texts.map((x) => x.replace('-', '').split('.')[0]?.length ?? 1))
        const got = decoded(unscaledNumerics(await sent(t, texts), texts.length, col(scale, digits + scale)))
        assert.deepEqual(
          got,
          texts.map((x) => want(x, scale)),
          texts.join(' '),
        )
      }
    })

    it('refuses what the declared DECIMAL does not hold, and bytes that are not n numerics', async () => {
      for (const sign of [0xc0, 0xd0, 0xf0])
        assert.throws(() => unscaledNumerics(special(sign), 1, col(2, 10)), {
          code: 'EXPORT_VALUE',
          message: /not a finite decimal in price/,
        })
      assert.throws(() => unscaledNumerics(special(0xc0), 1, col(2, 30)), { code: 'EXPORT_VALUE' })
      await assert.rejects(async () => unscaledNumerics(await sent(t, ['1.125']), 1, col(2, 10)), {
        code: 'EXPORT_VALUE',
        message: /price: a value with 3 decimals, more than the 2 measured/,
      })
      await assert.rejects(async () => unscaledNumerics(await sent(t, ['123456.5']), 1, col(1, 6)), {
        code: 'EXPORT_VALUE',
        message: /more than the 6 digits/,
      })
      await assert.rejects(async () => unscaledNumerics(await sent(t, ['1e30']), 1, col(0, 20)), {
        code: 'EXPORT_VALUE',
        message: /more than the 20 digits/,
      })
      const two = await sent(t, ['1.5', '2.5'])
      assert.throws(() => unscaledNumerics(two, 3, col(1, 5)), {
        code: 'EXPORT_PAGE',
        message: /2 of 3 numerics/,
      })
      assert.throws(() => unscaledNumerics(two, 1, col(1, 5)), {
        code: 'EXPORT_PAGE',
        message: /more bytes than 1/,
      })
      assert.throws(() => unscaledNumerics(two.subarray(0, 11), 2, col(1, 5)), {
        code: 'EXPORT_PAGE',
        message: /cut short/,
      })
    })
  })
}
