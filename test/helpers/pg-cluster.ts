/**
 * A throwaway PostgreSQL cluster of the test's own (initdb in a temp dir, a
 * free port, trust auth on 127.0.0.1), so a test can stop and restart the
 * server under a running feeder without touching the shared one.
 */
import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './cli.ts'

const BIN = '/usr/lib/postgresql/15/bin'
const asRoot = process.getuid?.() === 0

/** Why a scratch cluster cannot run here, or false when it can. */
export function scratchClusterUnavailable(): string | false {
  if (!existsSync(join(BIN, 'initdb'))) return `no ${BIN}/initdb`
  if (asRoot && !existsSync('/usr/sbin/runuser')) return 'running as root without runuser'
  return false
}

export interface ScratchCluster {
  /** A connection URL for one of its databases (default `postgres`). */
  url(database?: string): string
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

const exec = promisify(execFile)

/**
 * PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
 * Asynchronous, so a feeder in the same process keeps running meanwhile.
 */
async function run(cmd: string, args: string[]): Promise<void> {
  const [file, argv] = asRoot ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
  await exec(file, argv, { timeout: 60_000 })
}

export async function startScratchCluster(): Promise<ScratchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'feeder-pgcluster-'))
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const port = await freePort()
  await run(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const start = () =>
    run(join(BIN, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start'])
  await start()
  let running = true
  return {
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async stop(mode = 'fast') {
      await run(join(BIN, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop'])
      running = false
    },
    async start() {
      await start()
      running = true
    },
    async close() {
      try {
        if (running) await run(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
