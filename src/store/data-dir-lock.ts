/**
 * An exclusive, cross-process lock on a DATA_DIR: PGlite has none of its own,
 * and two processes writing one data directory corrupt it.
 *
 * The lock is `<dir>/.data-feeder.lock` holding the owner's pid. It is created
 * atomically with its content (write a private temp file, then `link` it into
 * place, which fails if the lock exists), so nobody ever reads an empty lock.
 * A lock whose pid is no longer running is stale and is taken over. Known
 * limit: after a reboot the old pid may belong to an unrelated live process;
 * the error names the pid and the file so an operator can remove it.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { StoreError } from './errors.ts'

export const LOCK_FILE_NAME = '.data-feeder.lock'

export interface DataDirLock {
  readonly path: string
  /** Removes the lock if this process still owns it. Idempotent. */
  release(): void
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, LOCK_FILE_NAME)
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`
  writeFileSync(tmp, `${process.pid}\n`)
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, path)
        return ownLock(path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const holder = readPid(path)
      if (holder !== null && isRunning(holder)) {
        throw new StoreError(
          'DATA_DIR_LOCKED',
          `data directory ${dir} is in use by process ${holder} (lock file ${path}); stop that process or use another DATA_DIR`,
        )
      }
      // Stale (dead pid) or vanished between link and read: remove and try again.
      try {
        unlinkSync(path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
    throw new StoreError('DATA_DIR_LOCKED', `could not take the lock ${path} (contended)`)
  } finally {
    try {
      unlinkSync(tmp)
    } catch {
      // already gone
    }
  }
}

function ownLock(path: string): DataDirLock {
  let released = false
  return {
    path,
    release() {
      if (released) return
      released = true
      if (readPid(path) !== process.pid) return
      try {
        unlinkSync(path)
      } catch {
        // removed by someone else: nothing to release
      }
    },
  }
}

function readPid(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
