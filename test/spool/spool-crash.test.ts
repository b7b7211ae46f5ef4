/**
 * kill -9 while appending: every batch the child reported as appended is in the
 * spool after a reopen, in order, and nothing else is (no garbage, no partial batch).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Candle } from '../../src/core/records.ts'
import type { SpoolEvent } from '../../src/spool/spool-errors.ts'
import { until } from '../helpers/until.ts'
import { batch, drain, open, tempDir } from './spool-helpers.ts'

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'spool-append-child.ts')

async function killWhileAppending(dir: string, afterMs: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('utf8')
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8')
  })
  const exited = new Promise<void>((r) => child.on('close', () => r()))
  await until(`child appending (stderr: ${err})`, () => out.includes('appended 0\n'))
  await delay(afterMs)
  child.kill('SIGKILL')
  await exited
  // Only whole lines count: the line being printed at the kill may be cut.
  const lines = out.split('\n').slice(0, -1)
  const last = lines[lines.length - 1]
  assert.ok(last?.startsWith('appended '), `unexpected child output: ${last} / ${err}`)
  return Number((last as string).slice('appended '.length))
}

test('SIGKILL mid-append loses no reported batch and replays no garbage', { timeout: 60_000 }, async (t) => {
  const seed = Number(process.env.SPOOL_CRASH_SEED ?? Date.now() % 1000)
  t.diagnostic(`seed ${seed}`)
  for (let round = 0; round < 4; round++) {
    const tmp = tempDir()
    try {
      const reported = await killWhileAppending(tmp.dir, 30 + ((seed * 37 + round * 101) % 250))
      const events: SpoolEvent[] = []
      const { spool } = open(tmp.dir, { onEvent: (e) => events.push(e) })
      for (const e of events) assert.equal(e.type, 'torn_tail', JSON.stringify(e))
      const got = (await drain(spool)).flat()
      // At most one batch more than reported: appended, but killed before the print.
      const n = got.length
      let expected: Candle[] = []
      let i = 0
      while (expected.length < n) {
        expected = expected.concat(batch(i, 1 + (i % 5)))
        i++
      }
      assert.deepEqual(got, expected, 'spooled candles are exactly the appended batches, in order')
      assert.ok(i - 1 >= reported, `reported ${reported} but only ${i - 1} batches found`)
      assert.ok(i - 1 <= reported + 1, `found batch ${i - 1}, reported only up to ${reported}`)
      t.diagnostic(`round ${round}: ${reported + 1} reported, ${i} found, events ${events.length}`)
      spool.close()
    } finally {
      tmp.cleanup()
    }
  }
})
