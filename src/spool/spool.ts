/**
 * The durable spool: an append-only on-disk log of candle batches that the
 * database could not take, replayed in order when it is back.
 *
 * Layout under `dir` (DATA_DIR/spool): segments `seg-000000000001.log`, … each
 * a run of records (spool-record.ts); `replayed` holds "<segment> <offset>",
 * how far the oldest segment has been replayed; `quarantine/` keeps bytes that
 * could not be read, so nothing disappears unseen.
 *
 * Durability: append() writes one record and fdatasyncs before it returns, so a
 * record is either whole on disk or (killed mid-write) a torn tail that the
 * next open detects, reports and cuts off; earlier records are never touched.
 * A new segment's directory entry is fsynced too. The `replayed` marker is not
 * fsynced on purpose: losing it only replays records again, and replay is an
 * idempotent fill-only upsert (see store/candle-sql.ts).
 *
 * The caller owns exclusivity: DATA_DIR is locked by the process (data-dir-lock).
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import type { Clock } from '../core/clock.ts'
import type { Candle } from '../core/records.ts'
import { type SpoolEvent, SpoolFullError, SpoolWriteError } from './spool-errors.ts'
import { encodeRecord, type ScannedRecord, scanRecords } from './spool-record.ts'

export { type SpoolEvent, SpoolFullError, SpoolWriteError } from './spool-errors.ts'

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
/** Candles handed to one replay write (PGlite takes at most 1 000 per statement). */
export const DEFAULT_REPLAY_BATCH = 1_000

export interface SpoolOptions {
  /** The spool's own directory, normally `spoolDir(DATA_DIR)`. Created if missing. */
  readonly dir: string
  /** Bytes on disk past which append() refuses (SpoolFullError). */
  readonly maxBytes: number
  readonly clock: Clock
  readonly segmentBytes?: number
  readonly replayBatchCandles?: number
  /** torn_tail and quarantined are found while opening, so the listener is given here. */
  readonly onEvent?: (e: SpoolEvent) => void
}

export interface ReplayResult {
  readonly records: number
  readonly candles: number
  /** True when the spool was emptied; false when a write failed (the rest is kept). */
  readonly done: boolean
  readonly error: unknown
}

export interface Spool {
  /** Appends one batch, durable on return. Throws SpoolFullError / SpoolWriteError; then nothing was added. */
  append(candles: readonly Candle[]): void
  /** Bytes of the segment files on disk (what counts against maxBytes). */
  readonly bytes: number
  /** Records not yet replayed. */
  readonly records: number
  /** Candles in those records. */
  readonly candles: number
  /**
   * Replays oldest first, a few records per `write`, advancing the marker only
   * after each write resolved and deleting each segment once it is replayed.
   * Stops at the first write that throws, keeping that batch and everything
   * after it. Concurrent calls share one run; appends during a run are
   * replayed by it too.
   */
  replay(write: (candles: readonly Candle[]) => Promise<void>): Promise<ReplayResult>
  /** Idempotent. A replay in progress stops after its current write. */
  close(): void
}

interface Segment {
  readonly seq: number
  readonly path: string
  size: number
  /** Offset up to which records have been replayed. */
  committed: number
  records: number
  candles: number
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/
const MARKER = 'replayed'

export function spoolDir(dataDir: string): string {
  return join(dataDir, 'spool')
}

export function openSpool(opts: SpoolOptions): Spool {
  return new FileSpool(opts)
}

class FileSpool implements Spool {
  private readonly opts: SpoolOptions
  private readonly segmentBytes: number
  private readonly batchCandles: number
  private readonly segments: Segment[] = []
  private active: { seg: Segment; fd: number } | null = null
  private running: Promise<ReplayResult> | null = null
  private closed = false

  constructor(opts: SpoolOptions) {
    this.opts = opts
    this.segmentBytes = Math.max(1, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES)
    this.batchCandles = Math.max(1, opts.replayBatchCandles ?? DEFAULT_REPLAY_BATCH)
    mkdirSync(opts.dir, { recursive: true })
    const marker = this.readMarker()
    const names = readdirSync(opts.dir)
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b)
    for (const seq of names) {
      const seg: Segment = { seq, path: this.segPath(seq), size: 0, committed: 0, records: 0, candles: 0 }
      if (marker !== null && marker.seq === seq) seg.committed = marker.offset
      const recs = this.scan(seg)
      if (seg.size === 0 || recs.every((r) => r.end <= seg.committed)) {
        unlinkSync(seg.path)
        continue
      }
      this.segments.push(seg)
    }
    syncPath(opts.dir)
  }

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0)
  }

  get records(): number {
    return this.segments.reduce((n, s) => n + s.records, 0)
  }

  get candles(): number {
    return this.segments.reduce((n, s) => n + s.candles, 0)
  }

  append(candles: readonly Candle[]): void {
    if (this.closed) throw new SpoolWriteError('the spool is closed')
    if (candles.length === 0) return
    const buf = encodeRecord(candles, this.opts.clock.now())
    const bytes = this.bytes
    if (bytes + buf.length > this.opts.maxBytes) {
      this.emit({ type: 'full', bytes, maxBytes: this.opts.maxBytes, candles: candles.length })
      throw new SpoolFullError(bytes, this.opts.maxBytes, candles.length)
    }
    if (
      this.active !== null &&
      this.active.seg.size > 0 &&
      this.active.seg.size + buf.length > this.segmentBytes
    ) {
      this.seal()
    }
    const { seg, fd } = this.active ?? this.startSegment()
    try {
      let off = 0
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
      fdatasyncSync(fd)
    } catch (err) {
      // Take back a partial record so later appends do not land after garbage.
      try {
        ftruncateSync(fd, seg.size)
        fdatasyncSync(fd)
      } catch {
        this.seal() // the scan at replay or next open will find it torn
      }
      throw new SpoolWriteError(`could not append ${candles.length} candles to ${seg.path}`, err)
    }
    seg.size += buf.length
    seg.records++
    seg.candles += candles.length
  }

  replay(write: (candles: readonly Candle[]) => Promise<void>): Promise<ReplayResult> {
    this.running ??= this.run(write).finally(() => {
      this.running = null
    })
    return this.running
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.seal()
  }

  private async run(write: (candles: readonly Candle[]) => Promise<void>): Promise<ReplayResult> {
    let records = 0
    let candles = 0
    for (;;) {
      const seg = this.segments[0]
      if (seg === undefined || this.closed) return { records, candles, done: seg === undefined, error: null }
      if (this.active?.seg === seg) {
        this.seal() // appends from here on go to a new segment
        continue // sealing may have removed an empty segment
      }
      const recs = this.scan(seg).filter((r) => r.offset >= seg.committed)
      for (let i = 0; i < recs.length; ) {
        const group: ScannedRecord[] = []
        let n = 0
        while (i < recs.length) {
          const r = recs[i] as ScannedRecord
          if (group.length > 0 && n + r.candles.length > this.batchCandles) break
          group.push(r)
          n += r.candles.length
          i++
        }
        try {
          await write(group.flatMap((r) => r.candles))
        } catch (error) {
          return { records, candles, done: false, error }
        }
        const end = (group[group.length - 1] as ScannedRecord).end
        seg.committed = end
        seg.records -= group.length
        seg.candles -= n
        records += group.length
        candles += n
        if (this.closed) return { records, candles, done: false, error: null }
        if (i < recs.length) this.writeMarker(seg.seq, end)
      }
      unlinkSync(seg.path)
      this.segments.shift()
      rmSync(join(this.opts.dir, MARKER), { force: true })
      // Both removals must be on disk before a new segment could reuse a number.
      syncPath(this.opts.dir)
    }
  }

  /**
   * Reads a segment, repairs its end (torn tail cut off, corruption moved to
   * quarantine) and sets its counters from what is readable after `committed`.
   */
  private scan(seg: Segment): ScannedRecord[] {
    const buf = readFileSync(seg.path)
    const r = scanRecords(buf)
    if (r.problem !== null) {
      const bytes = buf.length - r.goodEnd
      const to = this.quarantine(seg, buf.subarray(r.goodEnd), r.problem.offset, r.problem.kind)
      const event =
        r.problem.kind === 'torn'
          ? ({ type: 'torn_tail', segment: seg.path, offset: r.goodEnd, bytes, quarantinedTo: to } as const)
          : ({
              type: 'quarantined',
              segment: seg.path,
              offset: r.goodEnd,
              bytes,
              quarantinedTo: to,
              detail: r.problem.detail,
            } as const)
      this.emit(event)
    }
    seg.size = r.goodEnd
    if (seg.committed > seg.size) seg.committed = seg.size
    const live = r.records.filter((x) => x.offset >= seg.committed)
    seg.records = live.length
    seg.candles = live.reduce((n, x) => n + x.candles.length, 0)
    return r.records as ScannedRecord[]
  }

  /** Copies the unreadable end of a segment aside (fsynced), then cuts the segment there. */
  private quarantine(seg: Segment, bytes: Buffer, offset: number, kind: string): string {
    const qdir = join(this.opts.dir, 'quarantine')
    mkdirSync(qdir, { recursive: true })
    const to = join(qdir, `seg-${pad(seg.seq)}.${offset}.${kind}.${this.opts.clock.now()}`)
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

  private startSegment(): { seg: Segment; fd: number } {
    const last = this.segments[this.segments.length - 1]
    const seq = (last?.seq ?? this.highestSeqOnDisk()) + 1
    const path = this.segPath(seq)
    const fd = openSync(path, 'wx')
    syncPath(this.opts.dir)
    const seg: Segment = { seq, path, size: 0, committed: 0, records: 0, candles: 0 }
    this.segments.push(seg)
    this.active = { seg, fd }
    return this.active
  }

  /** Numbering never goes back, even after every segment was replayed and deleted. */
  private highestSeqOnDisk(): number {
    const m = this.readMarker()
    return m?.seq ?? 0
  }

  private seal(): void {
    if (this.active === null) return
    const { seg, fd } = this.active
    this.active = null
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    if (seg.size === 0 && seg.records === 0) {
      rmSync(seg.path, { force: true })
      this.segments.splice(this.segments.indexOf(seg), 1)
    }
  }

  private segPath(seq: number): string {
    return join(this.opts.dir, `seg-${pad(seq)}.log`)
  }

  private readMarker(): { seq: number; offset: number } | null {
    try {
      const [seq, offset] = readFileSync(join(this.opts.dir, MARKER), 'utf8').trim().split(' ').map(Number)
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

  private writeMarker(seq: number, offset: number): void {
    const path = join(this.opts.dir, MARKER)
    writeFileSync(`${path}.tmp`, `${seq} ${offset}\n`)
    renameSync(`${path}.tmp`, path)
  }

  private emit(e: SpoolEvent): void {
    try {
      this.opts.onEvent?.(e)
    } catch (err) {
      setImmediate(() => {
        throw err
      })
    }
  }
}

function pad(seq: number): string {
  return String(seq).padStart(12, '0')
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
