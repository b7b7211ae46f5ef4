// Compiles src/ into dist/ (run by `npm ci` through "prepare", or `npm run build`),
// file for file, so the service starts without a TypeScript loader: less memory,
// faster start. The layout mirrors src/, so `import.meta.url`-relative files (SQL
// migrations, package.json) resolve the same way, and PGlite stays a lazy import.
import { cpSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
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
// Built beside dist/ and swapped in whole, so a start never sees half a build.
const staging = join(root, `dist.tmp-${process.pid}`)
rmSync(staging, { recursive: true, force: true })
const all = files(src)
try {
  await build({
    absWorkingDir: root,
    entryPoints: all.filter((f) => f.endsWith('.ts')).map((f) => relative(root, f)),
    outbase: 'src',
    outdir: staging,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    plugins: [keepModules],
    sourcemap: 'linked',
    logLevel: 'warning',
  })
} catch (err) {
  rmSync(staging, { recursive: true, force: true })
  throw err
}
// Everything else under src/ (SQL migrations) is read at run time beside its module.
for (const f of all.filter((f) => !f.endsWith('.ts'))) cpSync(f, join(staging, relative(src, f)))
writeFileSync(join(staging, relative('dist', HASH_FILE)), `${hash}\n`)
// The old build stops counting as current first (its marker goes), then the new one replaces it.
rmSync(join(root, HASH_FILE), { force: true })
const old = join(root, `dist.old-${process.pid}`)
if (existsSync(outdir)) renameSync(outdir, old)
renameSync(staging, outdir)
rmSync(old, { recursive: true, force: true })
console.log(`dist/ built from sources ${hash.slice(0, 12)}`)
