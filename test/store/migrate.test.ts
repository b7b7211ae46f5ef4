import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { CANDLE_CONFLICT_CLAUSE } from '../../src/store/candle-sql.ts'
import { isStoreError } from '../../src/store/errors.ts'
import { baseMigrations, migrate, timescaleMigrations } from '../../src/store/migrate.ts'
import { openDb } from '../../src/store/open-db.ts'
import { probeTimescale } from '../../src/store/timescale.ts'
import { openTestDb, pgTargets, withDb } from '../helpers/db.ts'

const DATA_QUALITY_COLUMNS = [
  'id',
  'created_at',
  'market',
  'symbol',
  'event_type',
  'gap_start',
  'gap_end',
  'candles_missing',
  'candles_recovered',
  'source',
  'error_message',
  'resolved',
  'resolved_at',
  'details',
]

async function columns(db: import('../../src/store/db.ts').Db, table: string): Promise<string[]> {
  const r = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
    [table],
  )
  return r.rows.map((x) => x.column_name)
}

for (const kind of pgTargets()) {
  describe(`migrate on ${kind}`, () => {
    test('applies every migration once, then nothing', async () => {
      await withDb(
        kind,
        async (db) => {
          const first = await migrate(db)
          // PGlite never has TimescaleDB; a server says on or why not (TEST_DATABASE_URL may be a TimescaleDB).
          if (kind === 'pglite') assert.deepEqual(first.timescale, { state: 'off' })
          else assert.notEqual(first.timescale.state, 'off')
          const expected = [
            ...baseMigrations(),
            ...(first.timescale.state === 'on' ? timescaleMigrations() : []),
          ]
          assert.deepEqual(
            first.applied,
            expected.map((m) => m.version),
          )
          const again = await migrate(db)
          assert.deepEqual(again.applied, [])
          const r = await db.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations')
          assert.equal(Number(r.rows[0]?.n), expected.length)
        },
        { migrated: false },
      )
    })

    test('012 on a database written before it: -1 trade ids become NULL, stored quotes stay, quote_time added', async () => {
      await withDb(
        kind,
        async (db) => {
          // The schema as an older release left it: every migration before 012.
          await db.exec(`CREATE TABLE schema_migrations (
            version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
          for (const m of baseMigrations().filter((x) => x.version < '012')) {
            await db.exec(m.sql)
            await db.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [
              m.version,
              m.checksum,
            ])
          }
          const insert = (minute: number, ids: number | null, trades: number) =>
            db.query(
              `INSERT INTO candles_1m (market, symbol, open_time, close_time, open, high, low, close, volume,
                 quote_volume, trades, taker_buy_base, taker_buy_quote, first_trade_id, last_trade_id,
                 bid, bid_qty, ask, ask_qty, source)
               VALUES ('spot', 'OLDUSDT', $1, $1::timestamptz + interval '59.999 seconds', 1, 1, 1, 1, 0, 0, $2,
                 0, 0, $3, $3, 1, 2, 3, 4, 'ws')`,
              [new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString(), trades, ids],
            )
          await insert(0, -1, 0)
          await insert(1, 500, 1)
          const r = await migrate(db)
          assert.ok(r.applied.includes('012_quote_time'), r.applied.join(','))
          const rows = await db.query<Record<string, string | null>>(
            `SELECT first_trade_id::text AS f, last_trade_id::text AS l, trades::text AS n, bid::text AS bid,
                    quote_time::text AS qt
               FROM candles_1m ORDER BY open_time`,
          )
          assert.deepEqual(rows.rows, [
            { f: null, l: null, n: '0', bid: '1', qt: null },
            { f: '500', l: '500', n: '1', bid: '1', qt: null },
          ])
        },
        { migrated: false },
      )
    })

    test('creates the SPEC §4 objects with their fixed names', async () => {
      await withDb(kind, async (db) => {
        assert.deepEqual(await columns(db, 'data_quality_logs'), DATA_QUALITY_COLUMNS)
        const candleCols = await columns(db, 'candles_1m')
        for (const c of [
          'market',
          'symbol',
          'open_time',
          'close_time',
          'open',
          'high',
          'low',
          'close',
          'volume',
        ]) {
          assert.ok(candleCols.includes(c), c)
        }
        for (const c of ['quote_volume', 'trades', 'taker_buy_base', 'taker_buy_quote', 'first_trade_id']) {
          assert.ok(candleCols.includes(c), c)
        }
        for (const c of ['last_trade_id', 'bid', 'bid_qty', 'ask', 'ask_qty', 'mid_price', 'spread_bps']) {
          assert.ok(candleCols.includes(c), c)
        }
        for (const c of ['taker_buy_ratio', 'range_bps', 'source', 'ingested_at'])
          assert.ok(candleCols.includes(c), c)
        assert.deepEqual(await columns(db, 'feature_cache'), [
          'market',
          'symbol',
          'open_time',
          'window_size',
          'computed_at',
          'close_zscore',
          'close_minmax',
          'volume_zscore',
          'volume_minmax',
          'log_return',
          'spread_bps_zscore',
          'taker_buy_ratio_zscore',
          'close_mean',
          'close_std',
          'window_count',
          'window_full',
          'window_quoted',
        ])
        for (const v of ['candles_5m', 'candles_1h', 'candles_1d']) {
          const r = await db.query(`SELECT * FROM ${v} LIMIT 1`)
          assert.equal(r.rows.length, 0)
        }
        const pk = await db.query<{ def: string }>(
          `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'candles_1m_pkey'`,
        )
        assert.equal(pk.rows[0]?.def, 'PRIMARY KEY (market, symbol, open_time)')
      })
    })

    test('a migration edited after it was applied is refused', async () => {
      await withDb(kind, async (db) => {
        await db.query(`UPDATE schema_migrations SET checksum = 'x' WHERE version = '003_feature_cache'`)
        await assert.rejects(migrate(db), (err) => isStoreError(err, 'MIGRATION_CHANGED'))
      })
    })
  })
}

if (pgTargets().includes('postgres')) {
  test('concurrent migrate runs on real PostgreSQL serialise and apply each migration once', async () => {
    const t = await openTestDb('postgres', { migrated: false })
    const others = await Promise.all([openDb(t.options), openDb(t.options), openDb(t.options)])
    try {
      const results = await Promise.all([t.db, ...others].map((db) => migrate(db)))
      const applied = results.flatMap((r) => r.applied).sort()
      const on = results[0]?.timescale.state === 'on'
      assert.deepEqual(
        applied,
        [...baseMigrations(), ...(on ? timescaleMigrations() : [])].map((m) => m.version).sort(),
      )
    } finally {
      await Promise.all(others.map((db) => db.close()))
      await t.cleanup()
    }
  })
}

test('upsert_candle() and the batch path share one conflict clause', () => {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim()
  const fn = readFileSync(new URL('../../src/store/migrations/012_quote_time.sql', import.meta.url), 'utf8')
  assert.ok(norm(fn).includes(norm(CANDLE_CONFLICT_CLAUSE)))
})

describe('TimescaleDB branch, checked as far as plain PostgreSQL allows', () => {
  // Stubs of the TimescaleDB functions let PostgreSQL resolve every call. What
  // remains are the timescaledb.* storage parameters, which plain PostgreSQL
  // rejects only after parsing (and, for the aggregates, after analysing the query).
  const STUBS = `
    CREATE FUNCTION create_hypertable(relation regclass, time_column_name name, chunk_time_interval interval,
      create_default_indexes boolean, if_not_exists boolean, migrate_data boolean) RETURNS void LANGUAGE sql AS '';
    CREATE FUNCTION add_compression_policy(hypertable regclass, compress_after interval, if_not_exists boolean)
      RETURNS integer LANGUAGE sql AS 'SELECT 1';
    CREATE FUNCTION add_continuous_aggregate_policy(continuous_aggregate text, start_offset interval,
      end_offset interval, schedule_interval interval, if_not_exists boolean DEFAULT false)
      RETURNS integer LANGUAGE sql AS 'SELECT 1';
    CREATE FUNCTION time_bucket(bucket_width interval, ts timestamptz) RETURNS timestamptz
      LANGUAGE sql IMMUTABLE AS 'SELECT date_bin(bucket_width, ts, timestamptz ''2000-01-03 00:00:00+00'')';
    CREATE FUNCTION ts_first_sf(internal_state anyelement, value anyelement, t timestamptz) RETURNS anyelement
      LANGUAGE sql AS 'SELECT internal_state';
    CREATE AGGREGATE first(anyelement, timestamptz) (SFUNC = ts_first_sf, STYPE = anyelement);
    CREATE AGGREGATE last(anyelement, timestamptz) (SFUNC = ts_first_sf, STYPE = anyelement);`

  /** The statements of a script: split at `;` + newline, never inside a `$$ … $$` body. */
  function statements(sql: string): string[] {
    const out: string[] = []
    let current = ''
    for (const part of sql.split(/(?<=;)\s*\n/)) {
      current += `${part}\n`
      if ((current.match(/\$\$/g) ?? []).length % 2 === 0) {
        out.push(current)
        current = ''
      }
    }
    return [...out, current].map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter((s) => s.length > 0)
  }

  for (const kind of pgTargets()) {
    test(`every statement parses and resolves on ${kind}`, async (t) => {
      await withDb(kind, async (db) => {
        if ((await probeTimescale(db)).installed !== null) {
          // The stubs would clash with the real functions; test/store/timescale.test.ts runs the real thing.
          t.skip('this server has TimescaleDB')
          return
        }
        const files = timescaleMigrations()
        assert.ok(files.length > 0)
        const outcomes: string[] = []
        await db
          .tx(async (q) => {
            await q.exec(STUBS)
            // Each statement is rolled back after it runs, so the plain views that timescale/001
            // drops are dropped here once, as the aggregates of timescale/002 expect.
            await q.exec('DROP VIEW candles_5m, candles_1h, candles_1d')
            for (const stmt of files.flatMap((m) => statements(m.sql))) {
              if (/^CREATE EXTENSION/i.test(stmt)) continue
              await q.exec('SAVEPOINT s')
              try {
                await q.exec(stmt)
                outcomes.push('ok')
              } catch (err) {
                const e = err as { code?: string; message?: string }
                // 22023: unrecognized parameter namespace "timescaledb" — raised after parse analysis.
                assert.equal(e.code, '22023', `${e.code} ${e.message} in: ${stmt.slice(0, 120)}`)
                assert.match(String(e.message), /timescaledb/)
                outcomes.push('timescale-only')
              }
              await q.exec('ROLLBACK TO SAVEPOINT s')
            }
            throw new Error('rollback')
          })
          .catch((err: Error) => assert.equal(err.message, 'rollback'))
        assert.ok(outcomes.includes('ok'))
        assert.ok(outcomes.includes('timescale-only'))
      })
    })
  }
})
