import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, test } from 'node:test'
import { crc32 } from 'node:zlib'
import type { Candle } from '../../src/core/records.ts'
import { SpoolFullError } from '../../src/spool/spool.ts'
import { decodePayload, encodeRecord } from '../../src/spool/spool-record.ts'
import { batch, CLOCK_START, drain, open, segments, tempDir } from './spool-helpers.ts'

/** Length of the record holding batch(i), as the spool writes it. */
const recLen = (i: number) => encodeRecord(batch(i), CLOCK_START).length

const dirs: Array<() => void> = []
function dir(): string {
  const t = tempDir()
  dirs.push(t.cleanup)
  return t.dir
}
afterEach(() => {
  for (const c of dirs.splice(0)) c()
})

describe('spool append and replay', () => {
  test('replays batches oldest first, then holds nothing', async () => {
    const { spool } = open(dir(), { replayBatchCandles: 1 })
    for (let i = 0; i < 5; i++) spool.append(batch(i))
    assert.equal(spool.records, 5)
    assert.equal(spool.candles, 15)
    const got = await drain(spool)
    assert.deepEqual(
      got,
      [0, 1, 2, 3, 4].map((i) => batch(i)),
    )
    assert.equal(spool.records, 0)
    assert.equal(spool.bytes, 0)
  })

  test('coalesces records up to replayBatchCandles per write, never splitting a record', async () => {
    const { spool } = open(dir(), { replayBatchCandles: 7 })
    for (let i = 0; i < 5; i++) spool.append(batch(i))
    const got = await drain(spool)
    assert.deepEqual(
      got.map((b) => b.length),
      [6, 6, 3],
    )
    assert.deepEqual(
      got.flat(),
      [0, 1, 2, 3, 4].flatMap((i) => batch(i)),
    )
  })

  test('an empty batch writes nothing', () => {
    const d = dir()
    const { spool } = open(d)
    spool.append([])
    assert.equal(spool.records, 0)
    assert.deepEqual(segments(d), [])
  })

  test('survives a restart: a new process replays what the old one spooled', async () => {
    const d = dir()
    const a = open(d)
    for (let i = 0; i < 3; i++) a.spool.append(batch(i))
    a.spool.close()
    const b = open(d)
    assert.equal(b.spool.records, 3)
    assert.deepEqual(b.events, [])
    b.spool.append(batch(3))
    assert.deepEqual(
      (await drain(b.spool)).flat(),
      [0, 1, 2, 3].flatMap((i) => batch(i)),
    )
    b.spool.close()
    assert.equal(open(d).spool.records, 0)
  })

  test('a failed write stops the replay and keeps that batch and everything after it', async () => {
    const d = dir()
    const { spool } = open(d, { replayBatchCandles: 3 })
    for (let i = 0; i < 4; i++) spool.append(batch(i))
    const seen: Candle[][] = []
    const r = await spool.replay(async (cs) => {
      if (seen.length === 2) throw new Error('db down')
      seen.push([...cs])
    })
    assert.equal(r.done, false)
    assert.equal(r.records, 2)
    assert.equal(r.candles, 6)
    assert.equal((r.error as Error).message, 'db down')
    assert.equal(spool.records, 2)
    spool.close()
    // The marker survives a restart: the replayed records are not replayed again.
    const again = open(d).spool
    assert.equal(again.records, 2)
    assert.deepEqual((await drain(again)).flat(), [...batch(2), ...batch(3)])
  })

  test('batches appended while a replay runs are replayed by it, after the older ones', async () => {
    const { spool } = open(dir(), { replayBatchCandles: 1 })
    spool.append(batch(0))
    spool.append(batch(1))
    const got: Candle[][] = []
    const r = await spool.replay(async (cs) => {
      got.push([...cs])
      if (got.length === 1) spool.append(batch(2))
    })
    assert.equal(r.done, true)
    assert.deepEqual(got, [batch(0), batch(1), batch(2)])
  })

  test('concurrent replay calls share one run', async () => {
    const { spool } = open(dir())
    spool.append(batch(0))
    let writes = 0
    const w = async () => {
      writes++
    }
    const [a, b] = await Promise.all([spool.replay(w), spool.replay(w)])
    assert.equal(a, b)
    assert.equal(writes, 1)
  })
})

describe('spool segments and size bound', () => {
  test('rotates segments and deletes each one once replayed', async () => {
    const d = dir()
    const { spool } = open(d, { segmentBytes: recLen(0) + recLen(1), replayBatchCandles: 3 })
    for (let i = 0; i < 6; i++) spool.append(batch(i))
    assert.equal(segments(d).length, 3)
    let calls = 0
    const r = await spool.replay(async () => {
      if (++calls === 4) throw new Error('down')
    })
    assert.equal(r.records, 3)
    // The first segment is gone; the second is half replayed (marker), the third untouched.
    assert.equal(segments(d).length, 2)
    assert.equal(readFileSync(join(d, 'replayed'), 'utf8').trim(), `2 ${recLen(2)}`)
    assert.equal(spool.records, 3)
    assert.equal((await drain(spool)).length, 3)
    assert.deepEqual(segments(d), [])
  })

  test('past maxBytes append throws SpoolFullError, reports full, and adds nothing', () => {
    const d = dir()
    const two = recLen(0) + recLen(1)
    const { spool, events } = open(d, { maxBytes: two + 10 })
    spool.append(batch(0))
    spool.append(batch(1))
    assert.throws(() => spool.append(batch(2)), SpoolFullError)
    assert.equal(spool.records, 2)
    assert.equal(spool.bytes, two)
    assert.deepEqual(events, [{ type: 'full', bytes: two, maxBytes: two + 10, candles: 3 }])
  })

  test('space freed by a replay can be used again', async () => {
    const { spool } = open(dir(), { maxBytes: recLen(1) })
    spool.append(batch(0))
    assert.throws(() => spool.append(batch(1)), SpoolFullError)
    await drain(spool)
    spool.append(batch(1))
    assert.equal(spool.records, 1)
  })

  test('futures candles keep their market through the spool; an unknown market makes the record unreadable', () => {
    const futures = batch(0, 2).map(
      (c, i) => ({ ...c, market: i === 0 ? 'usdm' : 'coinm', close: '7.6120' }) as Candle,
    )
    const back = decodePayload(encodeRecord(futures, CLOCK_START).subarray(8))
    assert.deepEqual(
      back?.map((c) => [c.market, c.close]),
      [
        ['usdm', '7.6120'],
        ['coinm', '7.6120'],
      ],
    )
    const alien = batch(0, 1).map((c) => ({ ...c, market: 'xyz' }) as unknown as Candle)
    assert.equal(decodePayload(encodeRecord(alien, CLOCK_START).subarray(8)), null)
  })

  test('bytes per candle of a typical spot candle', (t) => {
    const n = 100
    const bytes = encodeRecord(batch(0, n), Date.now()).length
    const per = bytes / n
    t.diagnostic(`${per.toFixed(1)} bytes per candle in batches of ${n}`)
    for (const size of [1, 10]) {
      t.diagnostic(
        `${(encodeRecord(batch(0, size), Date.now()).length / size).toFixed(1)} bytes/candle, batch ${size}`,
      )
    }
    assert.ok(per < 300, `${per} bytes per candle`)
  })
})

describe('spool damage', () => {
  function threeRecords(d: string): { seg: string; offsets: number[]; size: number } {
    const { spool } = open(d)
    for (let i = 0; i < 3; i++) spool.append(batch(i))
    spool.close()
    const seg = join(d, segments(d)[0] as string)
    const l0 = recLen(0)
    const l1 = recLen(1)
    return { seg, offsets: [0, l0, l0 + l1], size: statSync(seg).size }
  }

  test('a torn last record, cut at any byte, is detected and cut off; earlier records intact', async () => {
    const d = dir()
    const { seg, offsets, size } = threeRecords(d)
    const whole = readFileSync(seg)
    const last = offsets[2] as number
    for (let cut = last; cut < size; cut++) {
      writeFileSync(seg, whole.subarray(0, cut))
      const { spool, events } = open(d)
      if (cut === last) assert.deepEqual(events, [])
      else {
        assert.equal(events.length, 1, `cut at ${cut}`)
        assert.equal(events[0]?.type, 'torn_tail')
        assert.equal((events[0] as { offset: number }).offset, last)
      }
      assert.equal(spool.records, 2, `cut at ${cut}`)
      assert.equal(statSync(seg).size, last)
      spool.close()
    }
    const { spool } = open(d)
    spool.append(batch(3))
    assert.deepEqual(
      (await drain(spool)).flat(),
      [0, 1, 3].flatMap((i) => batch(i)),
    )
  })

  test('a tail of zeros (filesystem after a crash) is a torn tail, not data', () => {
    const d = dir()
    const { seg, size } = threeRecords(d)
    writeFileSync(seg, Buffer.concat([readFileSync(seg), Buffer.alloc(4096)]))
    const { spool, events } = open(d)
    assert.equal(events[0]?.type, 'torn_tail')
    assert.equal(spool.records, 3)
    assert.equal(statSync(seg).size, size)
  })

  test('a flipped byte in the middle: stop there, move the rest to quarantine, keep later segments', async () => {
    const d = dir()
    const { seg, offsets, size } = threeRecords(d)
    // A later segment, as if written after a restart.
    const later = join(d, 'seg-000000000009.log')
    writeFileSync(later, encodeRecord(batch(9), 0))
    const buf = readFileSync(seg)
    const at = (offsets[1] as number) + 20
    buf[at] = (buf[at] as number) ^ 0xff
    writeFileSync(seg, buf)
    const { spool, events } = open(d)
    assert.equal(events.length, 1)
    const e = events[0]
    assert.ok(e?.type === 'quarantined')
    assert.equal(e.offset, offsets[1])
    assert.equal(e.bytes, size - (offsets[1] as number))
    assert.deepEqual(readFileSync(e.quarantinedTo), buf.subarray(offsets[1]))
    assert.equal(readdirSync(join(d, 'quarantine')).length, 1)
    assert.deepEqual((await drain(spool)).flat(), [...batch(0), ...batch(9)])
  })

  test('a corrupt length field in the middle is quarantined, not read as a huge record', () => {
    const d = dir()
    const { seg, offsets } = threeRecords(d)
    const buf = readFileSync(seg)
    buf.writeUInt32LE(0xfffffff0, offsets[1] as number)
    writeFileSync(seg, buf)
    const { spool, events } = open(d)
    assert.equal(events[0]?.type, 'quarantined')
    assert.equal(spool.records, 1)
  })

  test('a well-formed record with a foreign payload is quarantined, never replayed', () => {
    const d = dir()
    const { seg } = threeRecords(d)
    const good = readFileSync(seg)
    const payload = Buffer.from('{"not":"candles"}')
    const head = Buffer.alloc(8)
    head.writeUInt32LE(payload.length, 0)
    // A valid CRC, so only the payload check can catch it.
    head.writeUInt32LE(crc32(payload), 4)
    writeFileSync(seg, Buffer.concat([good, head, payload, encodeRecord(batch(5), 0)]))
    const { spool, events } = open(d)
    assert.equal(events[0]?.type, 'quarantined')
    assert.equal(spool.records, 3)
    assert.ok(existsSync(join(d, 'quarantine')))
  })
})
