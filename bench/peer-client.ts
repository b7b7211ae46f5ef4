/**
 * One client of the peer benchmark, alone in its process so process.cpuUsage
 * is its own: `peer-client.ts <ours|sdk|sdk-beautify> <wsBase> <frames> <warm> <symbols,…>`.
 * Counts data frames; times CPU from frame `warm` to the last; prints JSON.
 */
import { performance } from 'node:perf_hooks'
import { WebsocketClient } from 'binance'
import { createBinanceFeed } from '../src/binance/ws/feed.ts'
import { CandleAssembler } from '../src/candles/candle-assembler.ts'
import { systemClock } from '../src/core/clock.ts'

const [impl = 'ours', base = '', total = '0', warmArg = '0', list = ''] = process.argv.slice(2)
const n = Number(total)
const warm = Number(warmArg)
const symbols = list.split(',')
let seen = 0
let cpu0: NodeJS.CpuUsage | null = null
let t0 = 0
let stop: () => Promise<void> = async () => {}

function count(): void {
  seen++
  if (seen === warm) {
    cpu0 = process.cpuUsage()
    t0 = performance.now()
  } else if (seen === n) {
    const d = process.cpuUsage(cpu0 ?? undefined)
    const wallMs = performance.now() - t0
    process.stdout.write(`${JSON.stringify({ cpuUs: d.user + d.system, frames: n - warm, wallMs })}\n`)
    void stop().then(() => process.exit(0))
  }
}

if (impl === 'ours') {
  const assembler = new CandleAssembler(symbols, 'spot')
  let candles = 0
  const feed = createBinanceFeed({
    baseUrl: base,
    symbols,
    clock: systemClock,
    onEvent: (e) => {
      const r = assembler.accept(e, Date.UTC(2030, 0, 1))
      if (r.kind === 'rejected') throw new Error(`${r.reason}: ${r.detail}`)
      if (r.kind === 'candle') candles++
      count()
    },
    onInvalid: (reason, detail) => {
      throw new Error(`invalid frame ${reason}: ${detail}`)
    },
  })
  feed.start()
  stop = () => feed.stop().then(() => void candles)
} else {
  const beautify = impl === 'sdk-beautify'
  const silent = { trace() {}, info() {}, error() {} }
  const client = new WebsocketClient({ wsUrl: base, beautify }, silent as never)
  // Subscribe acknowledgements arrive as 'response': every message here is a data frame.
  client.on(beautify ? 'formattedMessage' : 'message', count)
  const topics = symbols.flatMap((s) => [`${s.toLowerCase()}@kline_1m`, `${s.toLowerCase()}@bookTicker`])
  void client.subscribe(topics, 'main')
  stop = async () => {
    client.closeAll()
  }
}
