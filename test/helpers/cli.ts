/**
 * The CLI spawned as a real process, its JSON log lines collected as they come.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = resolve(REPO, 'bin/data-feeder.js')

export interface CliProcess {
  readonly child: ChildProcess
  readonly lines: Record<string, unknown>[]
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>
}

/** Environment with nothing inherited that could point the feeder elsewhere. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'NODE_OPTIONS']
  const env: Record<string, string> = {}
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k] as string
  return { ...env, LOG_FORMAT: 'json', ...extra }
}

export function startCli(args: string[], env: Record<string, string>, cwd = REPO): CliProcess {
  // Every run gets a DATA_DIR of its own unless the test names one: parallel tests never share a lock.
  const ownDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'feeder-cli-')) : null
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv(ownDir === null ? env : { ...env, DATA_DIR: ownDir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const lines: Record<string, unknown>[] = []
  let partial = ''
  child.stdout?.on('data', (d: Buffer) => {
    const s = d.toString('utf8')
    out += s
    partial += s
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>)
      } catch {
        // not a log line
      }
    }
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8')
  })
  const exited = new Promise<number | string>((res) => {
    // 'close', not 'exit': only then has the last of stdout and stderr been read.
    child.on('close', (code, signal) => {
      if (ownDir !== null) rmSync(ownDir, { recursive: true, force: true })
      res(code ?? signal ?? -1)
    })
  })
  return { child, lines, stdout: () => out, stderr: () => err, exited }
}

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd = REPO,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = startCli(args, env, cwd)
  const code = await p.exited
  return { code, stdout: p.stdout(), stderr: p.stderr() }
}

/** A port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
