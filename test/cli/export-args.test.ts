/** `data-feeder export` arguments: what they mean, and the one line each mistake gets. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseCommand } from '../../src/cli/args.ts'

const NOW = Date.parse('2024-06-01T12:00:00Z')
const range = ['--symbol', 'ethusdt', '--from', '2024-01-01', '--to', '-1d']

describe('export arguments', () => {
  it('defaults: spot, parquet, FEATURE_WINDOWS (null), a file named for the range', () => {
    assert.deepEqual(parseCommand(['export', ...range], NOW), {
      name: 'export',
      market: 'spot',
      symbol: 'ETHUSDT',
      from: Date.parse('2024-01-01T00:00:00Z'),
      to: NOW - 86_400_000,
      format: 'parquet',
      windows: null,
      out: null,
      requireComplete: false,
    })
  })

  it('takes a market, windows, an output (its .csv name picks CSV), stdout and --require-complete', () => {
    const c = parseCommand(
      [
        'export',
        ...range,
        '--market',
        'usdm',
        '--windows',
        '60, 1440',
        '--out',
        'x.CSV',
        '--require-complete',
      ],
      NOW,
    )
    assert.equal(c.name, 'export')
    if (c.name !== 'export') return
    assert.deepEqual(
      [c.market, c.windows, c.format, c.out, c.requireComplete],
      ['usdm', [60, 1440], 'csv', 'x.CSV', true],
    )
    const p = parseCommand(['export', ...range, '--out', '-', '--format', 'PARQUET'], NOW)
    assert.deepEqual(p.name === 'export' && [p.out, p.format], ['-', 'parquet'])
  })

  it('refuses what it cannot do, with one line naming the flag', () => {
    const bad: [string[], RegExp][] = [
      [['--from', '2024-01-01', '--to', '2024-01-02'], /export needs --symbol/],
      [['--symbol', 'BTCUSDT', '--to', '2024-01-02'], /export needs --from/],
      [[...range, '--format', 'feather'], /--format: "feather" is not a format \(formats: parquet, csv\)/],
      [[...range, '--windows', '60,x'], /--windows: "x" is not a window/],
      [[...range, '--windows', '100001'], /--windows: "100001" is not a window/],
      [[...range, '--out', ''], /--out: empty/],
      [['--symbol', 'BTCUSDT', '--from', '2024-02-01', '--to', '2024-01-01'], /--from is after --to/],
      [[...range, '--json'], /export does not take --json/],
      [[...range, '--market', 'margin'], /--market: "margin" is not a market/],
    ]
    for (const [args, message] of bad) assert.throws(() => parseCommand(['export', ...args], NOW), message)
  })

  it('help names the command', () => {
    assert.deepEqual(parseCommand(['export', '--help'], NOW), { name: 'help', topic: 'export' })
  })
})
