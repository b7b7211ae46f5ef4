import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Candle } from '../../src/core/records.ts'
import { openSpool, type Spool, type SpoolOptions } from '../../src/spool/spool.ts'
import type { SpoolEvent } from '../../src/spool/spool-errors.ts'
import { ManualClock } from '../helpers/manual-clock.ts'
import { candle } from '../store/candle-fixture.ts'

export const CLOCK_START = Date.UTC(2024, 0, 1)

/** Batch `i` of `size` candles: minutes i*size … i*size+size-1, distinct and recognisable. */
export function batch(i: number, size = 3, symbol = 'BTCUSDT'): Candle[] {
  return Array.from({ length: size }, (_, j) =>
    candle({ minute: i * size + j, symbol, trades: 100_000 + i * 100 + j }),
  )
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'data-feeder-spool-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('seg-'))
    .sort()
}

export function open(dir: string, over: Partial<SpoolOptions> = {}): { spool: Spool; events: SpoolEvent[] } {
  const events: SpoolEvent[] = []
  const spool = openSpool({
    dir,
    maxBytes: 64 * 1024 * 1024,
    clock: new ManualClock(CLOCK_START),
    onEvent: (e) => events.push(e),
    ...over,
  })
  return { spool, events }
}

/** Replays everything, collecting the batches handed to `write`. */
export async function drain(spool: Spool): Promise<Candle[][]> {
  const got: Candle[][] = []
  const r = await spool.replay(async (cs) => {
    got.push([...cs])
  })
  if (!r.done) throw new Error('replay did not finish')
  return got
}
