/**
 * Where a PostgreSQL is (DATABASE_URL or DB_*), how to reach it (sslmode → pg's
 * TLS options), and how to name it in errors without the password.
 */
import type { ConnectionOptions } from 'node:tls'
import type pg from 'pg'
import type { PostgresDbOptions, SslMode } from './db.ts'
import { StoreError } from './errors.ts'

const SSL_PARAMS = ['sslmode', 'ssl', 'sslcert', 'sslkey', 'sslrootcert', 'uselibpqcompat']

export interface Target {
  config: pg.PoolConfig
  sslmode: SslMode
  label: string
  password: string | undefined
}

export function resolveTarget(opts: PostgresDbOptions): Target {
  const config: pg.PoolConfig = {}
  let sslmode: SslMode | undefined = opts.sslmode
  let password = opts.password
  if (opts.connectionString !== undefined) {
    let url: URL
    try {
      url = new URL(opts.connectionString)
    } catch {
      // Node's ERR_INVALID_URL carries the input (and so the password): never pass it on.
      throw new StoreError(
        'DB_CONFIG_INVALID',
        'DATABASE_URL is not a valid URL (postgres://user:pass@host:5432/db)',
      )
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new StoreError(
        'DB_CONFIG_INVALID',
        `DATABASE_URL must start with postgres://, not ${url.protocol}//`,
      )
    }
    const fromUrl = url.searchParams.get('sslmode')
    if (sslmode === undefined && isSslMode(fromUrl)) sslmode = fromUrl
    for (const p of SSL_PARAMS) url.searchParams.delete(p)
    if (password === undefined && url.password !== '') password = decodeURIComponent(url.password)
    config.connectionString = url.toString()
  }
  if (opts.host !== undefined) config.host = opts.host
  if (opts.port !== undefined) config.port = opts.port
  if (opts.database !== undefined) config.database = opts.database
  if (opts.user !== undefined) config.user = opts.user
  if (opts.password !== undefined) config.password = opts.password
  const where = opts.connectionString !== undefined ? new URL(opts.connectionString) : undefined
  const host = opts.host ?? (where?.hostname || 'localhost')
  const port = opts.port ?? (where?.port ? Number(where.port) : 5432)
  const database = opts.database ?? (where?.pathname.slice(1) || '(default)')
  const user = opts.user ?? (where?.username ? decodeURIComponent(where.username) : '(default)')
  return { config, sslmode: sslmode ?? 'prefer', label: `${user}@${host}:${port}/${database}`, password }
}

function isSslMode(v: string | null): v is SslMode {
  return v !== null && ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(v)
}

export function sslFor(mode: SslMode): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
    case 'allow': // pg cannot fall back to TLS after a plaintext refusal; 'allow' starts (and stays) plaintext
      return false
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined }
    case 'verify-full':
      return { rejectUnauthorized: true }
  }
}
