/**
 * Helpers for the process-level benchmarks: a simulator in a child process,
 * the real CLI spawned against it and a real PostgreSQL, and /proc sampling
 * (VmRSS, utime+stime) of the child.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_SYMBOLS } from '../src/simulator/universe.ts'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = resolve(REPO, 'bin/data-feeder.js')
const TICKS_PER_S = 100 // getconf CLK_TCK on Linux

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** n listed symbols: the simulator's defaults, then B0001USDT, B0002USDT, … */
export function universe(n: number): string[] {
  const out = DEFAULT_SYMBOLS.slice(0, n)
  for (let i = 1; out.length < n; i++) out.push(`B${String(i).padStart(4, '0')}USDT`)
  return out
}

export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

export interface Child {
  readonly pid: number
  readonly child: ChildProcess
  stderr(): string
  close(): Promise<void>
}

function wrap(child: ChildProcess): Child {
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString('utf8')).slice(-4000)
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  return {
    pid: child.pid as number,
    child,
    stderr: () => err,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(t)
    },
  }
}

/** Starts bench/sim-proc.ts; resolves once it listens. */
export async function startSimProcess(
  args: Record<string, number>,
): Promise<Child & { wsBase: string; httpBase: string; usdmBase: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(REPO, 'bench/sim-proc.ts'), JSON.stringify(args)],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  const c = wrap(child)
  const line = await new Promise<string>((res, rej) => {
    let buf = ''
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString('utf8')
      const i = buf.indexOf('\n')
      if (i >= 0) res(buf.slice(0, i))
    })
    child.once('exit', (code) => rej(new Error(`simulator exited ${code}: ${c.stderr()}`)))
  })
  const { wsBase, httpBase, usdmBase } = JSON.parse(line) as {
    wsBase: string
    httpBase: string
    usdmBase: string
  }
  return { ...c, wsBase, httpBase, usdmBase }
}

/** Spawns `data-feeder run` (the real CLI) with only the given environment. */
export async function startFeeder(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  /** Sees every /metrics page scraped while waiting (histograms reset at each scrape) and how long it took. */
  onScrape: (metrics: string, ms: number) => void = () => {},
): Promise<Child & { port: number }> {
  const port = await freePort()
  const dataDir = tempDir()
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'run'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      HEALTH_CHECK_HOST: '127.0.0.1',
      HEALTH_CHECK_PORT: String(port),
      BACKFILL_ENABLED: 'false',
      INITIAL_BACKFILL_MINUTES: '0',
      DATA_DIR: dataDir,
      // glibc allocator tuning (MALLOC_ARENA_MAX…) reaches the feeder, to compare runs with and without.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_'))),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const c = wrap(child)
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`feeder exited ${child.exitCode}: ${c.stderr()}`)
    const t0 = performance.now()
    const page = await scrape(port).catch(() => '')
    if (page !== '') onScrape(page, performance.now() - t0)
    if (page.includes('feeder_ws_frames_received_total{')) break
    if (Date.now() > deadline) {
      await c.close()
      throw new Error(`feeder received no frames within 60 s: ${c.stderr()}`)
    }
    await sleep(250)
  }
  return {
    ...c,
    port,
    async close() {
      await c.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A fresh DATA_DIR (the spool and its lock), never the repository's ./data. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'df-bench-'))
}

/** Spawns any node process (a baseline) in the repository. */
export function startNode(args: string[]): Child {
  return wrap(spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] }))
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? Number.NaN) / 1024
}

/** utime + stime of the process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_S
}

export async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`)
  return r.text()
}

/** Every sample of a metric (any labels) in a Prometheus text page. */
export function metric(text: string, name: string): number[] {
  const out: number[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      out.push(Number(line.slice(line.lastIndexOf(' ') + 1)))
    }
  }
  return out
}

/** Cumulative histogram buckets `le → count` of a Prometheus histogram. */
export function buckets(text: string, name: string): Map<number, number> {
  const m = new Map<number, number>()
  const re = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm')
  for (const x of text.matchAll(re)) m.set(Number(x[1] === '+Inf' ? Infinity : x[1]), Number(x[2]))
  return m
}

/** Upper bound of the bucket holding quantile q of (after − before). */
export function bucketQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((x, y) => x - y)
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0)
  if (total <= 0) return Number.NaN
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le
  return Infinity
}

/** Least-squares slope dy/dx. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    den += ((xs[i] as number) - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

const LAG_CONTROL = `const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 })
h.enable()
setInterval(() => {}, 1000)
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }), () => process.exit(0))
})`

/**
 * A bare node process measuring its own event-loop delay as prom-client does
 * (monitorEventLoopDelay, 10 ms resolution): what the machine alone (other
 * processes, the scheduler) does to a loop with no work, over the same window.
 */
export function startLagControl(): { stop(): Promise<{ maxMs: number; p99Ms: number }> } {
  const child = spawn(process.execPath, ['-e', LAG_CONTROL], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8')
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  return {
    async stop() {
      child.kill('SIGTERM')
      await exited
      return JSON.parse(out) as { maxMs: number; p99Ms: number }
    },
  }
}
