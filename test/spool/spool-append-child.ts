/**
 * Child process for the crash test: appends batches to a spool in a loop and
 * prints "appended <i>" after each append returned (i.e. after fdatasync), until
 * it is killed. Usage: node --import tsx spool-append-child.ts <dir>
 */
import { systemClock } from '../../src/core/clock.ts'
import { openSpool } from '../../src/spool/spool.ts'
import { batch } from './spool-helpers.ts'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: spool-append-child.ts <dir>')
// Small segments so that kills also land around rotations.
const spool = openSpool({ dir, maxBytes: 1024 * 1024 * 1024, clock: systemClock, segmentBytes: 8 * 1024 })
for (let i = 0; ; i++) {
  spool.append(batch(i, 1 + (i % 5)))
  process.stdout.write(`appended ${i}\n`)
}
