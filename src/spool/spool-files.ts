/**
 * The spool's files under DATA_DIR/spool: segments `seg-<12 digits>.log`, the
 * `replayed` marker ("<segment> <offset>": how far the oldest segment has been
 * replayed) and `quarantine/` for bytes that could not be read.
 */
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'

const SEGMENT_RE = /^seg-(\d{12})\.log$/
const MARKER = 'replayed'

export function spoolDir(dataDir: string): string {
  return join(dataDir, 'spool')
}

function pad(seq: number): string {
  return String(seq).padStart(12, '0')
}

export function segmentPath(dir: string, seq: number): string {
  return join(dir, `seg-${pad(seq)}.log`)
}

/** Sequence numbers of the segments in `dir`, oldest first. */
export function segmentSeqs(dir: string): number[] {
  return readdirSync(dir)
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
}

export function readMarker(dir: string): { seq: number; offset: number } | null {
  try {
    const [seq, offset] = readFileSync(join(dir, MARKER), 'utf8').trim().split(' ').map(Number)
    if (
      seq !== undefined &&
      offset !== undefined &&
      Number.isSafeInteger(seq) &&
      Number.isSafeInteger(offset)
    ) {
      return { seq, offset }
    }
  } catch {
    // none yet
  }
  return null
}

/** Not fsynced on purpose: losing it only replays records again, and replay is idempotent. */
export function writeMarker(dir: string, seq: number, offset: number): void {
  const path = join(dir, MARKER)
  writeFileSync(`${path}.tmp`, `${seq} ${offset}\n`)
  renameSync(`${path}.tmp`, path)
}

export function removeMarker(dir: string): void {
  rmSync(join(dir, MARKER), { force: true })
}

/** Copies the unreadable end of a segment aside (fsynced), then cuts the segment there. */
export function quarantineTail(
  dir: string,
  seg: { seq: number; path: string },
  bytes: Buffer,
  offset: number,
  kind: string,
  now: number,
): string {
  const qdir = join(dir, 'quarantine')
  mkdirSync(qdir, { recursive: true })
  const to = join(qdir, `seg-${pad(seg.seq)}.${offset}.${kind}.${now}`)
  writeFileSync(to, bytes)
  syncPath(to)
  syncPath(qdir)
  const fd = openSync(seg.path, 'r+')
  try {
    ftruncateSync(fd, offset)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return to
}

/** fsync of a file or a directory (a new entry in it). */
export function syncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
