/**
 * Bulk path: candles/s of the set-based upsert into a real PostgreSQL, next to
 * `psql \copy` of the same rows into the same (empty) table in the same run;
 * and the whole backfill path (simulator REST → validation → upsert).
 */
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createRestClient } from '../src/binance/rest/rest-client.ts'
import { systemClock } from '../src/core/clock.ts'
import type { Candle } from '../src/core/records.ts'
import { MINUTE_MS } from '../src/core/records.ts'
import { simulatedKline } from '../src/simulator/market.ts'
import { startSimulator } from '../src/simulator/server.ts'
import { buildCandleUpsert } from '../src/store/candle-sql.ts'
import { benchDatabase } from './bench-db.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT']

function candles(n: number, start: number): Candle[] {
  const out: Candle[] = []
  const per = Math.ceil(n / SYMBOLS.length)
  for (const symbol of SYMBOLS) {
    for (let i = 0; i < per && out.length < n; i++) {
      const k = simulatedKline(symbol, start + i * MINUTE_MS)
      out.push({
        type: 'candle',
        market: 'spot',
        symbol,
        openTime: k.openTime,
        closeTime: k.closeTime,
        open: k.open,
        high: k.high,
        low: k.low,
        close: k.close,
        volume: k.volume,
        quoteVolume: k.quoteVolume,
        trades: k.trades,
        takerBuyBase: k.takerBuyBase,
        takerBuyQuote: k.takerBuyQuote,
        firstTradeId: k.firstTradeId < 0 ? null : k.firstTradeId,
        lastTradeId: k.lastTradeId < 0 ? null : k.lastTradeId,
        bid: null,
        bidQty: null,
        ask: null,
        askQty: null,
        quoteTime: null,
        source: 'rest',
        receivedAt: 0,
      })
    }
  }
  return out
}

const COPY_COLUMNS =
  'market,symbol,open_time,close_time,open,high,low,close,volume,quote_volume,trades,taker_buy_base,taker_buy_quote,first_trade_id,last_trade_id,source'

function csv(rows: readonly Candle[]): string {
  const iso = (t: number) => new Date(t).toISOString()
  return rows
    .map((c) =>
      [
        c.market,
        c.symbol,
        iso(c.openTime),
        iso(c.closeTime),
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
        c.quoteVolume,
        c.trades,
        c.takerBuyBase,
        c.takerBuyQuote,
        c.firstTradeId,
        c.lastTradeId,
        c.source,
      ].join(','),
    )
    .join('\n')
}

async function upsertRun(rows: readonly Candle[], batch: number, writers: number): Promise<number> {
  const bench = await benchDatabase()
  try {
    const t0 = performance.now()
    let next = 0
    const worker = async () => {
      for (;;) {
        const i = next
        next += batch
        if (i >= rows.length) return
        await bench.db.query(buildCandleUpsert(rows.slice(i, i + batch)))
      }
    }
    await Promise.all(Array.from({ length: writers }, worker))
    return rows.length / ((performance.now() - t0) / 1000)
  } finally {
    await bench.drop()
  }
}

async function copyRun(rows: readonly Candle[]): Promise<number> {
  const bench = await benchDatabase()
  const file = join(tmpdir(), `df-bench-${process.pid}.csv`)
  writeFileSync(file, csv(rows))
  try {
    const t0 = performance.now()
    const r = spawnSync(
      'psql',
      [
        bench.url,
        '-v',
        'ON_ERROR_STOP=1',
        '-qc',
        `\\copy candles_1m(${COPY_COLUMNS}) FROM '${file}' WITH (FORMAT csv)`,
      ],
      {
        encoding: 'utf8',
      },
    )
    const seconds = (performance.now() - t0) / 1000
    if (r.status !== 0) throw new Error(`psql \\copy failed: ${r.stderr}`)
    return rows.length / seconds
  } finally {
    rmSync(file, { force: true })
    await bench.drop()
  }
}

async function backfillRun(minutes: number): Promise<number> {
  const sim = await startSimulator({ clock: systemClock, weightLimitPerMinute: 1_000_000 })
  const bench = await benchDatabase()
  const rest = createRestClient({
    baseUrl: sim.httpBase,
    clock: systemClock,
    weightLimitPerMinute: 1_000_000,
  })
  try {
    const to = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 2 * MINUTE_MS
    const from = to - (minutes - 1) * MINUTE_MS
    const t0 = performance.now()
    let n = 0
    await Promise.all(
      SYMBOLS.map((s) =>
        rest.closedCandlesBetween(s, from, to, async (page) => {
          n += page.length
          await bench.db.query(buildCandleUpsert(page))
        }),
      ),
    )
    return n / ((performance.now() - t0) / 1000)
  } finally {
    rest.close()
    await bench.drop()
    await sim.close()
  }
}

export async function runBulkBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const n = quick ? 4_000 : 200_000
  const runs = quick ? 1 : 3
  const rows = candles(n, Date.UTC(2024, 0, 1))
  const up1: number[] = []
  const up4: number[] = []
  const cp: number[] = []
  const bf: number[] = []
  for (let i = 0; i < runs; i++) {
    cp.push(await copyRun(rows))
    up1.push(await upsertRun(rows, 5_000, 1))
    up4.push(await upsertRun(rows, 5_000, 4))
    bf.push(await backfillRun(quick ? 1_000 : 20_000))
  }
  const copy = summarize(cp)
  const one = summarize(up1)
  const four = summarize(up4)
  const back = summarize(bf)
  const cmd = 'npm run bench -- bulk'
  return [
    {
      metric: `bulk upsert, ${fmt(n)} candles, batches of 5 000, 1 writer`,
      ours: fmtSample(one, 'candles/s'),
      baseline: `psql \\copy ${fmtSample(copy, 'rows/s')}`,
      ratio: `${fmt((one.median / copy.median) * 100)} %`,
      goal: '≥ 100 000/s, ≥ 50 % of \\copy',
      command: cmd,
    },
    {
      metric: `bulk upsert, ${fmt(n)} candles, batches of 5 000, 4 writers`,
      ours: fmtSample(four, 'candles/s'),
      baseline: `psql \\copy ${fmtSample(copy, 'rows/s')}`,
      ratio: `${fmt((four.median / copy.median) * 100)} %`,
      goal: '≥ 100 000/s, ≥ 50 % of \\copy',
      command: cmd,
    },
    {
      metric: `backfill from simulator REST (4 symbols × ${fmt(quick ? 1_000 : 20_000)} min): fetch, validate, upsert`,
      ours: fmtSample(back, 'candles/s'),
      baseline: '—',
      ratio: '—',
      goal: '—',
      command: cmd,
    },
  ]
}
