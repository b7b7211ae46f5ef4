/**
 * Creates the embedded database (PGlite's initdb) in a process of its own:
 * `node --liftoff-only pglite-create.js <directory>`. Creation touches ≈ 800 MB
 * that a WASM instance never gives back while its process lives; a process
 * that exits gives back all of it. Exit 0 when created, 1 with the reason on stderr.
 */
import { PGlite } from '@electric-sql/pglite'
import { pgliteOptions } from './pglite-options.ts'

const dir = process.argv[2]
if (dir === undefined) {
  process.stderr.write('usage: pglite-create <directory>\n')
  process.exit(2)
}
try {
  const lite = await PGlite.create(dir, pgliteOptions())
  await lite.close()
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
