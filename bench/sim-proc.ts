/**
 * The simulator in its own process, so its CPU is never counted as the
 * feeder's: `node --import tsx bench/sim-proc.ts '{"symbols":500,"usdm":500}'`. Prints
 * one JSON line `{wsBase, httpBase, usdmBase}` when listening; exits on SIGTERM.
 */
import { systemClock } from '../src/core/clock.ts'
import { scaledClock } from '../src/simulator/scaled-clock.ts'
import { startSimulator } from '../src/simulator/server.ts'
import { universe } from './proc.ts'

interface SimArgs {
  symbols: number
  /** USD-M contracts listed too (the same names as the spot universe). */
  usdm?: number
  speed?: number
  epoch?: number
  klineUpdateMs?: number
  bookUpdateMs?: number
}

const a = JSON.parse(process.argv[2] ?? '{}') as SimArgs
const speed = a.speed ?? 1
const clock = speed === 1 ? systemClock : scaledClock(speed, a.epoch ?? Date.now())
const sim = await startSimulator({
  clock,
  symbols: universe(a.symbols),
  ...(a.usdm !== undefined ? { futuresSymbols: { usdm: universe(a.usdm) } } : {}),
  weightLimitPerMinute: 1_000_000,
  ...(a.klineUpdateMs !== undefined ? { klineUpdateMs: a.klineUpdateMs } : {}),
  ...(a.bookUpdateMs !== undefined ? { bookUpdateMs: a.bookUpdateMs } : {}),
})
process.stdout.write(
  `${JSON.stringify({ wsBase: sim.wsBase, httpBase: sim.httpBase, usdmBase: sim.wsHostOf('usdm') })}\n`,
)
const stop = () => void sim.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
// If the bench dies without stopping us, its end of our stdin closes: never linger as an orphan.
process.stdin.on('end', stop).on('error', stop).resume()
