// Identifies the TypeScript sources a build of dist/ was made from, so that the
// bin never runs a bundle older than the code beside it.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

function allFiles(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...allFiles(p))
    else out.push(p)
  }
  return out
}

/** sha256 over the path and content of every file under src/ (code and SQL), in a fixed order. */
export function sourceHash(root) {
  const src = join(root, 'src')
  const h = createHash('sha256')
  for (const f of allFiles(src).sort()) {
    h.update(relative(src, f))
    h.update('\0')
    h.update(readFileSync(f))
    h.update('\0')
  }
  return h.digest('hex')
}

export const HASH_FILE = join('dist', '.source-hash')
