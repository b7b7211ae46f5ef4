// Compiles src/ into dist/ (run by `npm ci` through "prepare", or `npm run build`),
// file for file, so the service starts without a TypeScript loader: less memory,
// faster start. The layout mirrors src/, so `import.meta.url`-relative files (SQL
// migrations, package.json) resolve the same way, and PGlite stays a lazy import.
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { HASH_FILE, sourceHash } from '../bin/source-hash.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')
const outdir = join(root, 'dist')

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  )
}

/** Each module stays its own file: relative imports are kept, `.ts` → `.js`. */
const keepModules = {
  name: 'keep-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.ts$/, '.js'), external: true },
    )
  },
}

const hash = sourceHash(root)
rmSync(outdir, { recursive: true, force: true })
const all = files(src)
await build({
  absWorkingDir: root,
  entryPoints: all.filter((f) => f.endsWith('.ts')).map((f) => relative(root, f)),
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  plugins: [keepModules],
  sourcemap: 'linked',
  logLevel: 'warning',
})
// Everything else under src/ (SQL migrations) is read at run time beside its module.
for (const f of all.filter((f) => !f.endsWith('.ts'))) cpSync(f, join(outdir, relative(src, f)))
// Written last: a build that failed half-way is never taken for a good one.
writeFileSync(join(root, HASH_FILE), `${hash}\n`)
console.log(`dist/ built from sources ${hash.slice(0, 12)}`)
