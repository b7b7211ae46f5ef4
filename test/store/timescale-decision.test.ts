/**
 * Whether a database gets the TimescaleDB schema: the rule over every
 * combination of what the server has and TIMESCALEDB=auto|on|off, and the
 * probe against a real PostgreSQL's catalog (as a superuser and as a role
 * that may neither read shared_preload_libraries nor create anything).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TimescaleMode } from '../../src/config/config.ts'
import { openDb } from '../../src/store/open-db.ts'
import {
  decideTimescale,
  preloadListNamesTimescale,
  probeTimescale,
  type TimescaleFacts,
} from '../../src/store/timescale.ts'
import { admin, createTestDatabase, postgresOptions } from '../helpers/db.ts'

const MODES: TimescaleMode[] = ['auto', 'on', 'off']

describe('decideTimescale', () => {
  // Every combination of created × installed × preloaded (true/false/unknown) × privileged × hypertables.
  const cases: TimescaleFacts[] = []
  for (const created of [null, '2.28.3'])
    for (const installed of [null, '2.28.3'])
      for (const preloaded of [true, false, null])
        for (const privileged of [true, false])
          for (const hypertables of [false, true]) {
            if (hypertables && created === null) continue // hypertables need the extension
            if (created !== null && installed === null) continue // a created extension is installed
            cases.push({ created, installed, preloaded, privileged, hypertables })
          }

  for (const f of cases) {
    for (const mode of MODES) {
      const name = `${mode}: ${JSON.stringify(f)}`
      it(name, () => {
        const d = decideTimescale(f, mode)
        const loadable = f.preloaded !== false
        const creatable = f.created !== null || f.privileged
        if (f.hypertables) {
          // Never converted back silently: kept under any setting, unusable only if not loadable.
          if (loadable) assert.deepEqual(d, { use: true, keptDespiteOff: mode === 'off' })
          else assert.ok(!d.use && d.state === 'unavailable' && d.reason === 'not preloaded')
          return
        }
        if (mode === 'off') return assert.deepEqual(d, { use: false, state: 'off' })
        if (f.installed !== null && loadable && creatable)
          return assert.deepEqual(d, { use: true, keptDespiteOff: false })
        assert.ok(!d.use && d.state === 'unavailable', name)
        const reason = f.installed === null ? 'not installed' : !loadable ? 'not preloaded' : 'no privilege'
        assert.equal(d.reason, reason)
        assert.equal(d.fatal, mode === 'on')
        if (mode === 'on' || reason === 'not installed') assert.equal(d.warning, null)
        else {
          assert.equal(
            d.warning?.code,
            reason === 'not preloaded' ? 'TIMESCALEDB_NOT_PRELOADED' : 'TIMESCALEDB_UNAVAILABLE',
          )
          // It says how to enable it.
          assert.match(
            d.warning?.message ?? '',
            reason === 'not preloaded' ? /shared_preload_libraries/ : /CREATE/,
          )
        }
      })
    }
  }
})

describe('preloadListNamesTimescale', () => {
  it('reads the forms shared_preload_libraries takes', () => {
    for (const yes of [
      'timescaledb',
      'pg_stat_statements, timescaledb',
      '"$libdir/timescaledb"',
      'timescaledb-2.28.3',
    ])
      assert.equal(preloadListNamesTimescale(yes), true, yes)
    for (const no of ['', 'pg_stat_statements', 'timescaledb_toolkit', 'not_timescaledb'])
      assert.equal(preloadListNamesTimescale(no), false, no)
  })
})

const url = process.env.TEST_DATABASE_URL
describe('probeTimescale on a real PostgreSQL', {
  skip: url ? false : 'TEST_DATABASE_URL is not set',
}, () => {
  it('answers from the catalog as a superuser and as a role with no rights', async (t) => {
    const target = await createTestDatabase()
    const role = `tsprobe_${process.pid}_${Date.now().toString(36)}`
    t.after(async () => {
      await target.cleanup()
      await admin(url as string, `DROP ROLE IF EXISTS ${role}`)
    })
    const su = await openDb(postgresOptions(target.connectionString))
    let server: TimescaleFacts
    try {
      server = await probeTimescale(su)
      const expected = await su.query<{ installed: string | null; preload: string }>(
        `SELECT (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS installed,
                current_setting('shared_preload_libraries') AS preload`,
      )
      const row = expected.rows[0] as { installed: string | null; preload: string }
      assert.equal(server.installed, row.installed)
      assert.equal(server.preloaded, preloadListNamesTimescale(row.preload))
      assert.equal(server.privileged, true)
      assert.equal(server.created, null)
      assert.equal(server.hypertables, false)
    } finally {
      await su.close()
    }
    await admin(url as string, `CREATE ROLE ${role} LOGIN`)
    const asRole = new URL(target.connectionString)
    asRole.username = role
    const db = await openDb(postgresOptions(asRole.toString()))
    try {
      const f = await probeTimescale(db)
      // Neither superuser nor allowed to CREATE in the database; shared_preload_libraries unreadable.
      assert.equal(f.privileged, false)
      assert.equal(f.installed, server.installed)
      assert.equal(f.preloaded, server.preloaded === true ? true : null)
    } finally {
      await db.close()
    }
  })
})
