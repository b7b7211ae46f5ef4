/**
 * The array literals built for batch writes, read back by a real database:
 * whatever a value holds (quotes, backslashes, braces, the word NULL), it
 * arrives as itself, and timestamps arrive to the millisecond.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { arrayLiteral, type Cell, unnestInsertSql, unnestParams } from '../../src/store/unnest-insert.ts'
import { openTestDb, pgTargets, type TestDb } from '../helpers/db.ts'

const AWKWARD = [
  'plain',
  '',
  'NULL',
  'null',
  'a"b',
  'back\\slash',
  '\\"',
  '{x,y}',
  'a,b',
  ' pad ',
  'é€😀',
  'tab\there',
]

describe('arrayLiteral', () => {
  it('quotes every element, escapes quote and backslash, leaves NULL bare', () => {
    assert.equal(arrayLiteral([]), '{}')
    assert.equal(arrayLiteral(['1.5', 2, true]), '{"1.5","2","true"}')
    assert.equal(arrayLiteral(['a"b', null, 'c\\d']), '{"a\\"b",NULL,"c\\\\d"}')
  })
})

for (const kind of pgTargets()) {
  describe(`batch array literals on ${kind}`, () => {
    let t: TestDb
    before(async () => {
      t = await openTestDb(kind, { migrated: false })
      await t.db.query('CREATE TABLE lit (k int4, s text, n numeric, ts timestamptz)')
    })
    after(() => t.cleanup())

    it('text, numeric and timestamps come back exactly as sent', async () => {
      interface R {
        k: number
        s: string | null
        n: string | null
        ts: number
      }
      const rows: R[] = AWKWARD.map((s, k) => ({ k, s, n: null, ts: Date.UTC(2024, 0, 1) + k * 60_001 }))
      rows.push({ k: 100, s: null, n: '0.00000001', ts: 0 })
      rows.push({ k: 101, s: 'x', n: '-123456789012345678901234.123456789', ts: 4_102_444_800_000 })
      const columns = [
        { name: 'k', type: 'int4', value: (r: R): Cell => r.k },
        { name: 's', type: 'text', value: (r: R): Cell => r.s },
        { name: 'n', type: 'numeric', value: (r: R): Cell => r.n },
        { name: 'ts', type: 'epoch_ms', value: (r: R): Cell => r.ts },
      ]
      await t.db.query({ text: unnestInsertSql('lit', 'l', columns), values: unnestParams(rows, columns) })
      const back = await t.db.query<{ k: number; s: string | null; n: string | null; ts: Date }>(
        'SELECT k, s, n::text AS n, ts FROM lit ORDER BY k',
      )
      assert.deepEqual(
        back.rows.map((r) => ({ k: r.k, s: r.s, n: r.n, ts: r.ts.getTime() })),
        rows,
      )
    })
  })
}
