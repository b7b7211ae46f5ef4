/**
 * Ours vs a peer on the same frames from the same server: a plain `ws`
 * WebSocketServer (port 0, in this process) blasts the frame mix to one
 * client at a time, each client alone in a child process (bench/peer-client.ts)
 * so process.cpuUsage counts only the client. Ours: BinanceFeed
 * (ReconnectingConnection) + decode + CandleAssembler. Peer: the `binance`
 * npm SDK's WebsocketClient with its own parsing (raw, and beautified).
 */
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { type WebSocket, WebSocketServer } from 'ws'
import { frameMix } from './frame-mix.ts'
import { REPO } from './proc.ts'
import { fmt, fmtSample, type Row, summarize } from './stats.ts'

type Impl = 'ours' | 'sdk' | 'sdk-beautify'

async function blast(ws: WebSocket, frames: readonly string[]): Promise<void> {
  for (let i = 0; i < frames.length; i++) {
    ws.send(frames[i] as string)
    if (i % 500 === 499) {
      while (ws.bufferedAmount > 4 << 20) await new Promise((r) => setTimeout(r, 1))
      await new Promise((r) => setImmediate(r))
    }
  }
}

export async function runPeerBench({ quick }: { quick: boolean }): Promise<Row[]> {
  const mix = frameMix(quick ? 10 : 100, quick ? 1 : 3)
  const frames = mix.frames
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((r) => wss.once('listening', () => r()))
  wss.on('connection', (ws) => {
    // Start when the client has had time to send its SUBSCRIBE (the SDK) or at once (ours: streams in the URL).
    let timer = setTimeout(() => void blast(ws, frames), 400)
    ws.on('message', (data) => {
      const req = JSON.parse(String(data)) as { id?: number }
      ws.send(JSON.stringify({ result: null, id: req.id }))
      clearTimeout(timer)
      timer = setTimeout(() => void blast(ws, frames), 200)
    })
    ws.on('close', () => clearTimeout(timer))
  })
  const port = (wss.address() as { port: number }).port
  const warm = Math.floor(frames.length / 5)
  const run = async (impl: Impl): Promise<number> => {
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve(REPO, 'bench/peer-client.ts'),
        impl,
        `ws://127.0.0.1:${port}${impl === 'ours' ? '/ws' : ''}`,
        String(frames.length),
        String(warm),
        mix.symbols.join(','),
      ],
      { cwd: REPO, encoding: 'utf8', timeout: 120_000 },
    )
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as { cpuUs: number; frames: number }
    return (r.cpuUs * 1000) / r.frames
  }
  const impls: Impl[] = ['ours', 'sdk', 'sdk-beautify']
  const res = new Map<Impl, number[]>(impls.map((i) => [i, []]))
  const runs = quick ? 1 : 5
  try {
    for (let i = 0; i < runs; i++) for (const impl of impls) res.get(impl)?.push(await run(impl))
  } finally {
    for (const c of wss.clients) c.terminate()
    await new Promise<void>((r) => wss.close(() => r()))
  }
  const ours = summarize(res.get('ours') ?? [])
  const rows: Row[] = []
  for (const [impl, label] of [
    ['sdk', 'beautify: false (JSON.parse only)'],
    ['sdk-beautify', 'beautify: true (typed fields, as its README configures)'],
  ] as const) {
    const theirs = summarize(res.get(impl) ?? [])
    rows.push({
      metric: `client CPU per frame, same ${fmt(frames.length)} frames from one local ws server — ours: BinanceFeed + decode + assemble; peer: \`binance\` SDK WebsocketClient, ${label}`,
      ours: fmtSample(ours, 'ns CPU/frame'),
      baseline: `binance SDK ${fmtSample(theirs, 'ns CPU/frame')}`,
      ratio: `${fmt(ours.median / theirs.median, 2)}×`,
      goal: '— (comparison)',
      command: 'npm run bench -- peer',
    })
  }
  return rows
}
