/**
 * Where an export's bytes go: a file that appears only when complete, or stdout.
 * The file is written beside its target under a temporary name (same directory, so
 * the final rename is atomic), synced, then renamed over the target; `abort` (an
 * error, SIGINT) removes it, so a failed export leaves no file behind.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface ExportOutput {
  /** Resolves when the bytes are taken (backpressure: awaited before the next write). */
  write(chunk: Uint8Array | string): Promise<void>
  /** The file is complete: make it appear under its name. */
  commit(): Promise<void>
  /** Nothing remains. Idempotent, never throws. */
  abort(): Promise<void>
  /** Path written, or '-' for stdout. */
  readonly target: string
}

export async function openExportOutput(target: string, stdout: NodeJS.WritableStream): Promise<ExportOutput> {
  return target === '-' ? streamOutput(stdout) : atomicFile(target)
}

function streamOutput(out: NodeJS.WritableStream): ExportOutput {
  return {
    target: '-',
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        const ok = out.write(chunk, (err) => (err ? reject(err) : undefined))
        if (ok) resolve()
        else out.once('drain', resolve)
      }),
    commit: async () => {},
    abort: async () => {},
  }
}

async function atomicFile(target: string): Promise<ExportOutput> {
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.partial`)
  let handle: FileHandle | null = await open(temp, 'wx')
  let finished = false
  return {
    target,
    async write(chunk) {
      if (handle === null) throw new Error('the export output is closed')
      await handle.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)
    },
    async commit() {
      if (handle === null) throw new Error('the export output is closed')
      await handle.sync()
      await handle.close()
      handle = null
      await rename(temp, target)
      finished = true
    },
    async abort() {
      if (finished) return
      finished = true
      await handle?.close().catch(() => {})
      handle = null
      await rm(temp, { force: true }).catch(() => {})
    },
  }
}
