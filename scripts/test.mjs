// Runs every test file under test/ with node's test runner.
// Node 20 neither expands globs nor discovers .ts files, so the list is built here.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function find(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...find(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const args = process.argv.slice(2)
const files = args.length > 0 ? args : find('test').sort()
// The whole suite (no files named) starts with the type check and the linter: a failure of
// either fails the run, so CI, which runs this command, enforces both.
if (args.length === 0) {
  for (const [what, bin, argv] of [
    ['tsc --noEmit', 'node_modules/typescript/bin/tsc', ['--noEmit', '-p', '.']],
    ['biome check', 'node_modules/@biomejs/biome/bin/biome', ['check', '.']],
  ]) {
    const r = spawnSync(process.execPath, [bin, ...argv], { stdio: 'inherit' })
    if (r.status !== 0) {
      process.stderr.write(`${what} failed\n`)
      process.exit(r.status ?? 1)
    }
  }
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2'
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
)
process.exit(r.status ?? 1)
