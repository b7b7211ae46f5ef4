/**
 * How the embedded database is opened, the same in the worker that serves it and
 * in the process that creates it. Numbers behind each choice: docs/PERFORMANCE.md.
 */
import { PGlite, type PGliteOptions, types } from '@electric-sql/pglite'

const asText = (v: string): string => v

export function pgliteOptions(): PGliteOptions {
  return {
    // Results as pg gives them: int8 and numeric as strings.
    parsers: { [types.INT8]: asText, [types.NUMERIC]: asText },
    // PGlite's default 128 MB of shared buffers is most of its resident memory; the
    // service's working set is small and the files stay in the OS page cache.
    startParams: [
      ...PGlite.defaultStartParams,
      '-c',
      'shared_buffers=4MB',
      '-c',
      'maintenance_work_mem=16MB',
    ],
  }
}
