/**
 * Whether this database gets the TimescaleDB schema, decided from the server's
 * own catalog before anything is created:
 *
 * - created:   the extension already exists in this database;
 * - installed: the server has its files (`pg_available_extensions`);
 * - preloaded: the library is in `shared_preload_libraries` (else `CREATE
 *   EXTENSION` ends the session with FATAL XX000 "must be preloaded");
 * - privileged: the role may create it (superuser, or a trusted extension and
 *   CREATE on the database);
 * - hypertables: `candles_1m` is already a hypertable — kept whatever the setting.
 *
 * `probeTimescale` reads the facts; `decideTimescale` is the pure rule.
 */
import type { TimescaleMode } from '../config/config.ts'
import type { Queryable } from './db.ts'

export interface TimescaleFacts {
  /** extversion where the extension is created in this database. */
  readonly created: string | null
  /** default_version where the server has the extension's files. */
  readonly installed: string | null
  /** null: the role may not read shared_preload_libraries and the library is not loaded. */
  readonly preloaded: boolean | null
  readonly privileged: boolean
  readonly hypertables: boolean
}

export type TimescaleUnavailable = 'not installed' | 'not preloaded' | 'no privilege'

export type TimescaleDecision =
  | { readonly use: true; readonly keptDespiteOff: boolean }
  | { readonly use: false; readonly state: 'off' }
  | {
      readonly use: false
      readonly state: 'unavailable'
      readonly reason: TimescaleUnavailable
      /** TIMESCALEDB=on: the service must not start (exit 2). */
      readonly fatal: boolean
      /** What to log (warn) when the service goes on with the plain schema. */
      readonly warning: { readonly code: string; readonly message: string } | null
    }

const HOW_TO_PRELOAD =
  "add timescaledb to shared_preload_libraries in postgresql.conf (e.g. shared_preload_libraries = 'timescaledb') and restart PostgreSQL"

/** What the operator can do about each reason, in one clause. */
export const TIMESCALE_REMEDY: Readonly<Record<TimescaleUnavailable, string>> = {
  'not installed': 'install the TimescaleDB package for this PostgreSQL version on the server',
  'not preloaded': HOW_TO_PRELOAD,
  'no privilege':
    'connect as a role that may create the extension (a superuser, or one with CREATE on the database), or run CREATE EXTENSION timescaledb once as such a role',
}

export function decideTimescale(facts: TimescaleFacts, mode: TimescaleMode): TimescaleDecision {
  if (facts.hypertables) {
    if (facts.preloaded === false) return unavailable('not preloaded', mode, true)
    return { use: true, keptDespiteOff: mode === 'off' }
  }
  if (mode === 'off') return { use: false, state: 'off' }
  if (facts.installed === null && facts.created === null) return unavailable('not installed', mode, false)
  if (facts.preloaded === false) return unavailable('not preloaded', mode, true)
  if (facts.created === null && !facts.privileged) return unavailable('no privilege', mode, true)
  return { use: true, keptDespiteOff: false }
}

function unavailable(reason: TimescaleUnavailable, mode: TimescaleMode, warn: boolean): TimescaleDecision {
  return {
    use: false,
    state: 'unavailable',
    reason,
    fatal: mode === 'on',
    warning:
      warn && mode !== 'on'
        ? {
            code: reason === 'not preloaded' ? 'TIMESCALEDB_NOT_PRELOADED' : 'TIMESCALEDB_UNAVAILABLE',
            message: `TimescaleDB is ${reason === 'no privilege' ? 'installed but this role may not create it' : `${reason}`}; using the plain PostgreSQL schema. To enable it: ${TIMESCALE_REMEDY[reason]}`,
          }
        : null,
  }
}

/** `shared_preload_libraries` names timescaledb ('timescaledb', '$libdir/timescaledb', 'timescaledb-2.x.so'). */
export function preloadListNamesTimescale(list: string): boolean {
  return list
    .split(',')
    .map((s) => s.trim().replace(/^"|"$/g, ''))
    .some((s) => /(^|\/)timescaledb(-[0-9.]+)?(\.so)?$/.test(s))
}

export async function probeTimescale(q: Queryable): Promise<TimescaleFacts> {
  const r = await q.query<{
    created: string | null
    installed: string | null
    may_create: boolean
    loaded: boolean
    catalog: boolean
  }>(
    `SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'timescaledb') AS created,
            (SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'timescaledb') AS installed,
            COALESCE((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), false)
              OR (COALESCE((SELECT bool_or(v.trusted) FROM pg_catalog.pg_available_extension_versions v
                            JOIN pg_catalog.pg_available_extensions a ON a.name = v.name AND a.default_version = v.version
                            WHERE v.name = 'timescaledb'), false)
                  AND has_database_privilege(current_database(), 'CREATE')) AS may_create,
            -- The loaded library registers its settings with their real types (a placeholder is a string).
            EXISTS (SELECT 1 FROM pg_catalog.pg_settings
                    WHERE name = 'timescaledb.max_background_workers' AND vartype = 'integer') AS loaded,
            to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL AS catalog`,
  )
  const row = r.rows[0]
  if (row === undefined) throw new Error('the TimescaleDB probe returned no row')
  let preloaded: boolean | null = row.loaded ? true : null
  if (!row.loaded) {
    try {
      const s = await q.query<{ list: string }>("SELECT current_setting('shared_preload_libraries') AS list")
      preloaded = preloadListNamesTimescale(s.rows[0]?.list ?? '')
    } catch (err) {
      // 42501: this role may not read the setting (it is superuser-only): unknown.
      if ((err as { code?: unknown }).code !== '42501') throw err
    }
  }
  let hypertables = false
  if (row.catalog) {
    const h = await q.query<{ n: string }>(
      "SELECT count(*) AS n FROM _timescaledb_catalog.hypertable WHERE table_name = 'candles_1m'",
    )
    hypertables = Number(h.rows[0]?.n ?? 0) > 0
  }
  return {
    created: row.created,
    installed: row.installed,
    preloaded,
    privileged: row.may_create,
    hypertables,
  }
}
