import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { acquireDataDirLock, LOCK_FILE_NAME } from '../../src/store/data-dir-lock.ts'
import { isStoreError } from '../../src/store/errors.ts'
import { openDb } from '../../src/store/open-db.ts'
import { pgliteDataDir } from '../helpers/db.ts'

const dirs: string[] = []
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'data-feeder-lock-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const LOCK_MODULE = new URL('../../src/store/data-dir-lock.ts', import.meta.url).href
const DB_MODULE = new URL('../../src/store/open-db.ts', import.meta.url).href

test('a second openDb on the same PGlite DATA_DIR fails with DATA_DIR_LOCKED; close releases it', async () => {
  const data = await pgliteDataDir()
  dirs.push(data.dataDir)
  const db = await openDb({ kind: 'pglite', dataDir: data.dataDir })
  try {
    await assert.rejects(openDb({ kind: 'pglite', dataDir: data.dataDir }), (err) => {
      assert.ok(isStoreError(err, 'DATA_DIR_LOCKED'))
      assert.ok(err.message.includes(data.dataDir))
      assert.ok(err.message.includes(String(process.pid)))
      return true
    })
  } finally {
    await db.close()
  }
  assert.equal(existsSync(join(data.dataDir, LOCK_FILE_NAME)), false)
  const again = await openDb({ kind: 'pglite', dataDir: data.dataDir })
  await again.close()
})

test('the lock holds across processes, and a killed holder leaves a stale lock that is taken over', async () => {
  const dir = freshDir()
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { acquireDataDirLock } = await import(${JSON.stringify(LOCK_MODULE)});
       acquireDataDirLock(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('locked')) resolve()
      })
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)))
    })
    assert.throws(
      () => acquireDataDirLock(dir),
      (err) => isStoreError(err, 'DATA_DIR_LOCKED') && err.message.includes(String(child.pid)),
    )
  } finally {
    const exited = new Promise((r) => child.on('exit', r))
    child.kill('SIGKILL')
    await exited
  }
  // The child died without releasing: its pid is in the file, but no longer running.
  assert.equal(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8').trim(), String(child.pid))
  const lock = acquireDataDirLock(dir)
  assert.equal(readFileSync(lock.path, 'utf8').trim(), String(process.pid))
  lock.release()
  lock.release()
  assert.equal(existsSync(lock.path), false)
})

test('a child process cannot open a DATA_DIR this process holds', () => {
  const dir = freshDir()
  const lock = acquireDataDirLock(dir)
  try {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { openDb } = await import(${JSON.stringify(DB_MODULE)});
         try { await openDb({ kind: 'pglite', dataDir: ${JSON.stringify(dir)} }); console.log('opened') }
         catch (e) { console.log(e.code); process.exit(3) }`,
      ],
      { encoding: 'utf8' },
    )
    assert.equal(r.stdout.trim(), 'DATA_DIR_LOCKED')
    assert.equal(r.status, 3)
  } finally {
    lock.release()
  }
})

test('a lock file naming a dead pid is stale and taken over', () => {
  const dir = freshDir()
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  })
  writeFileSync(join(dir, LOCK_FILE_NAME), `${dead.stdout}\n`)
  const lock = acquireDataDirLock(dir)
  assert.equal(readFileSync(lock.path, 'utf8').trim(), String(process.pid))
  lock.release()
})
