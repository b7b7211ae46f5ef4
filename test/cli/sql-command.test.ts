/**
 * `data-feeder sql`: the embedded database answers SQL while the service runs (through
 * the socket in DATA_DIR) and when it does not (the command opens it); a statement that
 * would write is refused either way.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { table } from '../../src/cli/sql-command.ts'
import { runCli } from '../helpers/cli.ts'
import { embeddedRig, sqlCount, startHolding } from '../helpers/embedded-service.ts'
import { until } from '../helpers/until.ts'

const COUNT = 'SELECT count(*) AS n FROM candles_1m'

it('answers a read-only statement while the service runs and after it stopped; refuses writes', async (t) => {
  const rig = await embeddedRig(t, { symbols: ['BTCUSDT'], initialMinutes: 30, migrated: true })
  const service = await startHolding(t, rig)
  const rows = await until(
    'the start-up backfill visible through `sql`',
    async () => {
      const n = await sqlCount(rig.dataDir, COUNT)
      return n >= 28 ? n : null
    },
    120_000,
  )
  assert.ok(rows >= 28)

  const write = await runCli(['sql', 'DELETE FROM candles_1m'], { DATA_DIR: rig.dataDir })
  assert.equal(write.code, 1)
  assert.match(write.stderr, /read-only transaction/)

  service.child.kill('SIGTERM')
  assert.equal(await service.exited, 0)
  const after = await runCli(['sql', 'SELECT symbol, count(*) AS n FROM candles_1m GROUP BY symbol'], {
    DATA_DIR: rig.dataDir,
  })
  assert.equal(after.code, 0, after.stderr)
  assert.match(after.stdout, /^symbol {2}\| n\n/)
  assert.match(after.stdout, /BTCUSDT \| \d+\n\(1 row\)\n$/)
})

it('without a statement (none given, stdin empty) it is a usage error: exit 2, nothing opened', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'feeder-sql-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const r = await runCli(['sql'], { DATA_DIR: join(dir, 'data') })
  assert.equal(r.code, 2)
  assert.match(r.stderr, /sql needs a statement/)
  assert.equal(existsSync(join(dir, 'data')), false)
})

it('prints rows as an aligned table with their count', () => {
  assert.equal(table([]), '(0 rows)\n')
  assert.equal(
    table([
      { a: 'x', long_name: null },
      { a: 'yyy', long_name: new Date(0) },
    ]),
    'a   | long_name\n----+-------------------------\nx   |\nyyy | 1970-01-01T00:00:00.000Z\n(2 rows)\n',
  )
})
