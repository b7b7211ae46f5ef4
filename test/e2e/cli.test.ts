/**
 * The CLI as a black box: exit codes, configuration errors, a fresh start with
 * Binance unreachable, shutdown on SIGTERM.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { freePort, runCli, startCli } from '../helpers/cli.ts'
import { until } from '../helpers/until.ts'

describe('data-feeder CLI', () => {
  it('--help and --version exit 0', async () => {
    const h = await runCli(['--help'])
    assert.equal(h.code, 0)
    assert.match(h.stdout, /Usage:/)
    assert.match(h.stdout, /data-feeder backfill \[--symbol S\]/)
    const v = await runCli(['--version'])
    assert.equal(v.code, 0)
    assert.match(v.stdout, /^data-feeder \d+\.\d+\.\d+\n$/)
  })

  it('an unknown command or a nonsensical argument exits 2 with one line', async () => {
    for (const args of [
      ['frobnicate'],
      ['gaps', '--symbol', 'BTC/USDT'],
      ['backfill', '--symbol', 'BTCUSDT', '--from', 'soon'],
    ]) {
      const r = await runCli(args)
      assert.equal(r.code, 2, args.join(' '))
      assert.match(r.stderr, /^data-feeder: .+\nRun 'data-feeder --help' for usage\.\n$/)
    }
  })

  const badConfigs: [Record<string, string>, RegExp][] = [
    [
      { BATCH_MAX_CANDLES: 'lots' },
      /^data-feeder: configuration error: BATCH_MAX_CANDLES: value "lots" must be a whole number \(example: BATCH_MAX_CANDLES=10\)\n$/,
    ],
    [
      { TRADING_SYMBOLS: 'btc-usdt' },
      /^data-feeder: configuration error: TRADING_SYMBOLS: .*letters and digits.*\(example: TRADING_SYMBOLS=btcusdt,usdm:btcusdt,coinm:btcusd_perp\)\n$/,
    ],
    [
      { TRADING_SYMBOLS: 'btcusdt,xyz:btcusdt' },
      /^data-feeder: configuration error: TRADING_SYMBOLS: .*unknown market "xyz" in "xyz:btcusdt" \(markets: spot, usdm, coinm\).*\n$/,
    ],
    [
      { HEALTH_CHECK_PORT: '99999' },
      /^data-feeder: configuration error: HEALTH_CHECK_PORT: .*at most 65535.*\n$/,
    ],
    [
      { RETENTION_1M: 'forever' },
      /^data-feeder: configuration error: RETENTION_1M: value "forever" must be a positive interval .*\(example: RETENTION_1M=400 days\)\n$/,
    ],
    [
      { DATABASE_URL: 'mysql://feeder:s3cret-pw@db/x' },
      /^data-feeder: configuration error: DATABASE_URL: value must be a postgres/,
    ],
  ]
  for (const [env, expected] of badConfigs) {
    it(`bad configuration ${Object.keys(env)[0]} exits 2 naming the variable`, async () => {
      for (const command of ['run', 'migrate']) {
        const r = await runCli([command], env)
        assert.equal(r.code, 2)
        assert.match(r.stderr, expected)
        assert.ok(
          !r.stderr.includes('s3cret-pw') && !r.stdout.includes('s3cret-pw'),
          'the password never shows',
        )
      }
    })
  }

  it('reads .env from the working directory; the real environment wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'feeder-env-'))
    try {
      writeFileSync(join(dir, '.env'), 'BATCH_MAX_CANDLES=nope\nLOG_LEVEL=info\n')
      const fromFile = await runCli(['migrate'], {}, dir)
      assert.equal(fromFile.code, 2)
      assert.match(fromFile.stderr, /BATCH_MAX_CANDLES/)
      const overridden = await runCli(['migrate'], { BATCH_MAX_CANDLES: '5', LOG_LEVEL: 'nope' }, dir)
      assert.equal(overridden.code, 2)
      assert.match(overridden.stderr, /LOG_LEVEL/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a fresh start with Binance unreachable: embedded database created, /live 200, /ready 503, backoff grows, SIGTERM exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'feeder-fresh-'))
    const port = await freePort()
    const deadPort = await freePort()
    const p = startCli(['run'], {
      DATA_DIR: dataDir,
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
      BINANCE_STREAM_URL: `ws://127.0.0.1:${deadPort}/ws`,
      BINANCE_REST_URL: `http://127.0.0.1:${deadPort}`,
      LOG_LEVEL: 'info',
    })
    try {
      const base = `http://127.0.0.1:${port}`
      await until(
        '/live answering',
        async () => (await fetch(`${base}/live`).catch(() => null))?.status === 200,
        60_000,
      )
      await until('the database ready', () => p.lines.some((l) => l.msg === 'database ready'), 60_000)
      assert.ok(existsSync(join(dataDir, 'pglite')), 'embedded database files under DATA_DIR')
      const ready = await fetch(`${base}/ready`)
      assert.equal(ready.status, 503)
      assert.equal(((await ready.json()) as { ready: boolean }).ready, false)
      const health = (await (await fetch(`${base}/health`)).json()) as Record<string, unknown>
      assert.equal(health.status, 'unhealthy')
      assert.equal(health.websocket_connected, false)
      assert.equal(health.database_connected, true)
      await until(
        'three reconnect attempts logged',
        () => p.lines.filter((l) => l.code === 'STREAM_RECONNECT').length >= 3,
        30_000,
      )
      const delays = p.lines.filter((l) => l.code === 'STREAM_RECONNECT').map((l) => Number(l.delay_ms))
      assert.ok((delays[0] as number) >= 800 && (delays[0] as number) <= 1000, `first delay ${delays[0]}`)
      assert.ok(
        (delays[1] as number) > (delays[0] as number) && (delays[2] as number) > (delays[1] as number),
        delays.join(','),
      )
      // One line says what is wrong and how to try the feeder offline; warnings carry no stack.
      const unreachable = p.lines.filter((l) => l.code === 'BINANCE_UNREACHABLE')
      assert.equal(unreachable.length, 1)
      assert.match(String(unreachable[0]?.msg), /unreachable.*data-feeder simulate/)
      for (const l of p.lines.filter((x) => x.level === 40))
        assert.doesNotMatch(JSON.stringify(l), /"stack"/, `a warning with a stack: ${JSON.stringify(l)}`)
      p.child.kill('SIGTERM')
      assert.equal(await p.exited, 0)
      assert.ok(p.lines.some((l) => l.msg === 'stopped'))
      // A second start reopens the same store (and the lock was released).
      const again = startCli(['migrate'], { DATA_DIR: dataDir })
      assert.equal(await again.exited, 0)
    } finally {
      p.child.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('a second process on the same DATA_DIR gets a clear error, not a corrupted store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'feeder-lock-'))
    const port = await freePort()
    const first = startCli(['run'], {
      DATA_DIR: dataDir,
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
      BINANCE_STREAM_URL: `ws://127.0.0.1:${await freePort()}/ws`,
      BINANCE_REST_URL: `http://127.0.0.1:${await freePort()}`,
    })
    try {
      await until(
        'the first process holds the store',
        () => first.lines.some((l) => l.msg === 'database ready'),
        60_000,
      )
      const second = await runCli(['migrate'], { DATA_DIR: dataDir })
      assert.equal(second.code, 1)
      assert.match(second.stderr, /DATA_DIR_LOCKED: data directory .+ is in use by process \d+/)
      first.child.kill('SIGTERM')
      assert.equal(await first.exited, 0)
    } finally {
      first.child.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
