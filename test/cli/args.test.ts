import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseCommand, parseTime, UsageError } from '../../src/cli/args.ts'

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0)

describe('parseCommand', () => {
  it('defaults to run', () => {
    assert.deepEqual(parseCommand([], NOW), { name: 'run' })
    assert.deepEqual(parseCommand(['run'], NOW), { name: 'run' })
  })

  it('help and version', () => {
    for (const a of [['--help'], ['-h'], ['help']]) assert.deepEqual(parseCommand(a, NOW), { name: 'help' })
    for (const a of [
      ['gaps', '--help'],
      ['help', 'gaps'],
      ['gaps', '-h'],
    ])
      assert.deepEqual(parseCommand(a, NOW), { name: 'help', topic: 'gaps' })
    assert.throws(() => parseCommand(['help', 'frobnicate'], NOW), /no help for "frobnicate"/)
    assert.deepEqual(parseCommand(['--version'], NOW), { name: 'version' })
  })

  it('--market picks the market of the symbol (spot when absent) or of every configured symbol; a symbol must fit it', () => {
    assert.deepEqual(parseCommand(['gaps', '--market', 'usdm'], NOW), {
      name: 'gaps',
      market: 'usdm',
      symbol: null,
      from: null,
      to: null,
      json: false,
    })
    assert.deepEqual(parseCommand(['gaps', '--market', 'coinm', '--symbol', 'btcusd_perp'], NOW), {
      name: 'gaps',
      market: 'coinm',
      symbol: 'BTCUSD_PERP',
      from: null,
      to: null,
      json: false,
    })
    assert.equal(
      (parseCommand(['backfill', '--market', 'USDM', '--symbol', 'ethusdt'], NOW) as { market: string })
        .market,
      'usdm',
    )
    assert.throws(() => parseCommand(['gaps', '--market', 'xyz', '--symbol', 'btcusdt'], NOW), {
      message: /--market: "xyz" is not a market \(markets: spot, usdm, coinm\)/,
    })
    assert.throws(() => parseCommand(['gaps', '--symbol', 'btcusd_perp'], NOW), {
      message: /not a symbol of spot/,
    })
  })

  it('backfill and gaps take a symbol and a range', () => {
    assert.deepEqual(parseCommand(['backfill', '--symbol', 'btcusdt', '--from', '-6h'], NOW), {
      name: 'backfill',
      market: null,
      symbol: 'BTCUSDT',
      from: NOW - 6 * 3_600_000,
      to: null,
    })
    assert.deepEqual(
      parseCommand(
        ['gaps', '--symbol=ETHUSDT', '--from', '2024-01-01', '--to', '2024-01-01T12:00Z', '--json'],
        NOW,
      ),
      {
        name: 'gaps',
        market: null,
        symbol: 'ETHUSDT',
        from: Date.UTC(2024, 0, 1),
        to: Date.UTC(2024, 0, 1, 12),
        json: true,
      },
    )
  })

  it('simulate takes a port and a speed', () => {
    assert.deepEqual(parseCommand(['simulate', '--port', '9443'], NOW), {
      name: 'simulate',
      port: 9443,
      host: '127.0.0.1',
      speed: 1,
    })
    assert.equal((parseCommand(['simulate', '--speed', '60'], NOW) as { speed: number }).speed, 60)
  })

  it('without --symbol, backfill and gaps take every configured symbol', () => {
    assert.deepEqual(parseCommand(['backfill'], NOW), {
      name: 'backfill',
      market: null,
      symbol: null,
      from: null,
      to: null,
    })
    assert.equal((parseCommand(['gaps', '--json'], NOW) as { symbol: string | null }).symbol, null)
  })

  const bad: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['backfill', '--symbol', 'BTC/USDT'], /not a symbol/],
    [['backfill', '--symbol', 'BTCUSDT', '--from', 'yesterday'], /--from: "yesterday" is not a time/],
    [['gaps', '--symbol', 'BTCUSDT', '--from', '2024-02-01', '--to', '2024-01-01'], /--from is after --to/],
    [['gaps', '--symbol', 'BTCUSDT', '--to', '2024-13-45'], /--to/],
    [['run', '--symbol', 'BTCUSDT'], /run does not take --symbol/],
    [['migrate', '--bogus'], /Unknown option '--bogus'/],
    [['migrate', 'extra'], /positional/],
    [['simulate', '--port', '99999'], /not a port/],
    [['simulate', '--port', 'abc'], /not a port/],
    [['simulate', '--speed=-3'], /positive number/],
    [['simulate', '--speed', '-3'], /ambiguous/],
    [['gaps', '--symbol'], /argument missing/],
  ]
  for (const [argv, msg] of bad) {
    it(`refuses: ${argv.join(' ')}`, () => {
      assert.throws(
        () => parseCommand(argv, NOW),
        (e: unknown) => e instanceof UsageError && msg.test(e.message),
      )
    })
  }
})

describe('parseTime', () => {
  it('reads ISO dates and times as UTC, and relative times', () => {
    assert.equal(parseTime('2024-01-01', NOW, 'x'), Date.UTC(2024, 0, 1))
    assert.equal(parseTime('2024-01-01T12:00', NOW, 'x'), Date.UTC(2024, 0, 1, 12))
    assert.equal(parseTime('2024-01-01T12:00+02:00', NOW, 'x'), Date.UTC(2024, 0, 1, 10))
    assert.equal(parseTime('-30d', NOW, 'x'), NOW - 30 * 86_400_000)
    assert.equal(parseTime('-90m', NOW, 'x'), NOW - 90 * 60_000)
  })
})
