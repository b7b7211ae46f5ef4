/**
 * The bin runs the compiled dist/ only when it was built from exactly the
 * sources beside it, and the TypeScript sources otherwise. Checked on a copy
 * of the project (so the real dist/ is never touched while other tests run it),
 * observing which entry module the process actually resolves.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { REPO } from '../helpers/cli.ts'

describe('bin: compiled dist/ or the sources', () => {
  let root = ''
  const build = () => spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { encoding: 'utf8' })

  /** Runs `data-feeder --version` and reports which entry module was loaded. */
  function run(env: Record<string, string> = {}): { stdout: string; entry: 'dist' | 'src' | 'none' } {
    const log = join(root, `modules-${Math.random().toString(36).slice(2)}.log`)
    const r = spawnSync(
      process.execPath,
      ['--import', join(REPO, 'bench/module-probe.mjs'), join(root, 'bin/data-feeder.js'), '--version'],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', DF_MODULE_LOG: log, ...env } },
    )
    assert.equal(r.status, 0, r.stderr)
    const urls = existsSync(log) ? readFileSync(log, 'utf8') : ''
    const entry = urls.includes('/dist/cli/main.js')
      ? 'dist'
      : urls.includes('/src/cli/main.ts')
        ? 'src'
        : 'none'
    return { stdout: r.stdout, entry }
  }

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'feeder-bin-'))
    for (const p of ['bin', 'src', 'scripts/build.mjs', 'package.json'])
      cpSync(join(REPO, p), join(root, p), { recursive: true })
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'))
  })
  after(() => rmSync(root, { recursive: true, force: true }))

  it('without a build it runs the sources', () => {
    const r = run()
    assert.equal(r.entry, 'src')
    assert.match(r.stdout, /^data-feeder \d+\.\d+\.\d+\n$/)
  })

  it('after a build it runs dist/, with the same behaviour', () => {
    const b = build()
    assert.equal(b.status, 0, b.stderr)
    assert.ok(
      existsSync(join(root, 'dist/store/migrations/001_candles_1m.sql')),
      'SQL files beside their module',
    )
    const r = run()
    assert.equal(r.entry, 'dist')
    assert.match(r.stdout, /^data-feeder \d+\.\d+\.\d+\n$/)
    assert.equal(run({ DATA_FEEDER_FROM_SOURCE: '1' }).entry, 'src', 'forced back to the sources')
  })

  it('an edited source is never run stale: the sources run until the next build', () => {
    appendFileSync(join(root, 'src/core/records.ts'), '\n// edited\n')
    assert.equal(run().entry, 'src')
    assert.equal(build().status, 0)
    assert.equal(run().entry, 'dist')
  })

  it('an image without src/ runs the dist/ it ships', () => {
    renameSync(join(root, 'src'), join(root, 'src-away'))
    try {
      assert.equal(run().entry, 'dist')
    } finally {
      renameSync(join(root, 'src-away'), join(root, 'src'))
    }
  })

  it('a migration added after the build counts as a change to the sources', () => {
    writeFileSync(join(root, 'src/store/migrations/999_probe.sql'), 'SELECT 1;\n')
    try {
      assert.equal(run().entry, 'src')
    } finally {
      rmSync(join(root, 'src/store/migrations/999_probe.sql'))
    }
    assert.equal(run().entry, 'dist')
  })

  it('a failed build leaves the previous one whole, and it is not run for the changed sources', () => {
    writeFileSync(join(root, 'src/core/broken.ts'), 'export const x = (\n')
    const b = build()
    assert.notEqual(b.status, 0)
    assert.ok(existsSync(join(root, 'dist/cli/main.js')), 'the previous build is untouched')
    assert.deepEqual(
      readdirSync(root).filter((n) => n.startsWith('dist.')),
      [],
      'no staging directory left behind',
    )
    assert.equal(run().entry, 'src')
    rmSync(join(root, 'src/core/broken.ts'))
    assert.equal(run().entry, 'dist', 'the sources match the previous build again')
  })
})
