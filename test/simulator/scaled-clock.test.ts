import assert from 'node:assert/strict'
import { test } from 'node:test'
import { simulatedKline } from '../../src/simulator/market.ts'
import { scaledClock } from '../../src/simulator/scaled-clock.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { TestClient } from './ws-client.ts'

test('scaledClock: starts at epoch, timers wait ms/speed real time and see scaled time', async () => {
  const epoch = Date.UTC(2024, 0, 1)
  const before = performance.now()
  const clock = scaledClock(1_000, epoch)
  const now = clock.now()
  // 1 000× the real time that passed (on a loaded machine, more than a millisecond).
  const bound = (performance.now() - before + 1) * 1_000
  assert.ok(now >= epoch && now < epoch + bound, `now is epoch + ${now - epoch} ms, bound ${bound}`)
  const firedAt = await new Promise<number>((resolve) => clock.setTimeout(() => resolve(clock.now()), 20_000))
  assert.ok(firedAt >= epoch + 19_000, `fired at +${firedAt - epoch}`)
  let fired = false
  clock
    .setTimeout(() => {
      fired = true
    }, 1_000)
    .cancel()
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 5_000))
  assert.equal(fired, false, 'a cancelled timer never fires')
  assert.throws(() => scaledClock(0), RangeError)
})

test('end to end at 120× speed: the x=true frame arrives and equals simulatedKline', async () => {
  // 55 simulated seconds before the close are ≈ 0.46 s of real time: enough for the socket to open
  // and forming frames to arrive on a loaded machine (at 600× from :30 it was 50 ms, sometimes too short).
  const clock = scaledClock(120, Date.UTC(2024, 0, 1, 0, 0, 5))
  const sim = await startSimulator({ clock })
  const c = await TestClient.open(`${sim.wsBase}/btcusdt@kline_1m/btcusdt@bookTicker`)
  try {
    const { before, hit } = await c.until((m) => (m.k as { x?: boolean } | undefined)?.x === true)
    const k = hit.k as { t: number; o: string; c: string; n: number; f: number; L: number }
    const want = simulatedKline('BTCUSDT', k.t)
    assert.deepEqual(
      [k.o, k.c, k.n, k.f, k.L],
      [want.open, want.close, want.trades, want.firstTradeId, want.lastTradeId],
    )
    const last = JSON.parse(before.at(-1) as string) as { u?: number }
    assert.ok(last.u !== undefined, 'the closing book precedes the x=true frame')
    assert.ok(
      before.some((t) => t.includes('"x":false')),
      'forming frames came first',
    )
  } finally {
    c.ws.terminate()
    await sim.close()
  }
})
