/**
 * /metrics on a live app: valid exposition (promtool when installed), and the
 * counters move when the simulator drops a connection, skips a closing frame
 * or sends garbage.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { floorMinute } from '../../src/core/minute-ranges.ts'
import { MINUTE_MS } from '../../src/core/records.ts'
import { liveRig } from '../helpers/live-app.ts'
import { until } from '../helpers/until.ts'
import { checkExposition, PROMTOOL, promtool } from '../ops/exposition.ts'

/** Sum of every sample of a metric whose labels contain `labels`. */
function value(text: string, name: string, labels = ''): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name || !(m[2] ?? '').includes(labels)) continue
    sum += Number(m[3])
  }
  return sum
}

describe('metrics on a live feeder', () => {
  it('move with drops, skipped closes and bad frames; the exposition is valid', async (t) => {
    const rig = await liveRig('pglite')
    t.after(() => rig.close())
    const { app } = await rig.startApp({ TRADING_SYMBOLS: 'btcusdt,ethusdt', INITIAL_BACKFILL_MINUTES: '2' })
    const url = `http://127.0.0.1:${app.httpPort}/metrics`
    const scrape = async () => (await fetch(url)).text()
    await until(
      'a live candle committed',
      async () => value(await scrape(), 'feeder_pipeline_latency_seconds_count') >= 1,
    )

    const first = await scrape()
    const { problems } = checkExposition(first)
    assert.deepEqual(problems, [])
    if (PROMTOOL) {
      const r = promtool(['check', 'metrics'], first)
      assert.equal(r.status, 0, r.output)
    } else t.diagnostic('promtool not installed: exposition checked by the built-in reader only')
    assert.equal(value(first, 'feeder_db_up'), 1)
    assert.ok(value(first, 'feeder_ws_connection_age_seconds') > 0)
    assert.ok(value(first, 'feeder_last_candle_age_seconds', 'symbol="BTCUSDT"') >= 0)
    assert.ok(value(first, 'feeder_ws_frames_received_total', 'type="kline"') > 0)
    // Feature rows follow their candle's commit at once: no window trails its newest candle.
    await until('feature rows of the newest candles committed', async () =>
      (await scrape())
        .split('\n')
        .some((l) => /^feeder_feature_age_seconds\{[^}]*symbol="BTCUSDT"[^}]*window="60"[^}]*\} 0$/.test(l)),
    )

    rig.sim.hooks.injectRaw('{"e":"kline","E":1,"s":"BTCUSDT"')
    await until(
      'invalid frame counted',
      async () => value(await scrape(), 'feeder_ws_invalid_frames_total', 'reason="invalid_json"') >= 1,
    )

    rig.sim.hooks.dropAll()
    await until('reconnect counted', async () => value(await scrape(), 'feeder_ws_reconnects_total') >= 1)

    const skipped = floorMinute(rig.clock.now()) + MINUTE_MS
    rig.sim.hooks.skipClosed('ETHUSDT', skipped)
    // The backfill's first page comes back as an HTML page with status 200: counted, then retried.
    rig.sim.hooks.rest.malformNext(1, 'html')
    const gapsBefore = value(await scrape(), 'feeder_gaps_filled_total')
    // The reconnect's own repair may complete meanwhile: wait for the malformed page to be met too.
    await until(
      'the skipped minute detected and filled',
      async () => {
        const page = await scrape()
        return (
          value(page, 'feeder_gaps_filled_total') > gapsBefore &&
          value(page, 'feeder_ws_invalid_frames_total', 'reason="rest_response"') >= 1
        )
      },
      30_000,
    )
    const last = await scrape()
    assert.ok(value(last, 'feeder_gaps_detected_total') >= 1)
    assert.ok(value(last, 'feeder_backfill_candles_total') >= 1)
    assert.equal(value(last, 'feeder_ws_invalid_frames_total', 'reason="rest_response"'), 1)
  })
})
