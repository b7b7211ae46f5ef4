/**
 * A throwaway PostgreSQL cluster with SSL on, for tests only: initdb under
 * /tmp on a free port, a self-signed certificate from openssl, started and
 * removed by the test. The machine's main cluster is never touched. Returns
 * null (the test skips) when initdb, pg_ctl or openssl are missing.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/cli.ts'

export interface SslCluster {
  readonly port: number
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string
  stop(): void
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

export async function startSslCluster(): Promise<SslCluster | null> {
  if (!has('initdb') || !has('pg_ctl') || !has('openssl')) return null
  const root = userInfo().uid === 0
  if (root && spawnSync('id', ['postgres']).status !== 0) return null
  const dir = mkdtempSync('/tmp/df-ssl-cluster-')
  const data = join(dir, 'data')
  const port = await freePort()
  // initdb and postgres refuse to run as root: run them as the postgres user then.
  const asPg = (args: string[]) =>
    root
      ? execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'pipe' })
      : execFileSync(args[0] as string, args.slice(1), { stdio: 'pipe' })
  if (root)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString()),
      Number(execFileSync('id', ['-g', 'postgres']).toString()),
    )
  try {
    asPg(['initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'])
    asPg([
      'openssl',
      'req',
      '-new',
      '-x509',
      '-days',
      '1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(data, 'server.key'),
      '-out',
      join(data, 'server.crt'),
    ])
    chmodSync(join(data, 'server.key'), 0o600)
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      `ssl = on\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\n`,
    )
    asPg(['pg_ctl', '-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'])
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        asPg(['pg_ctl', '-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
