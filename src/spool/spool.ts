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
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import type { Candle } from '../core/records.ts'
import {
  DEFAULT_REPLAY_BATCH,
  DEFAULT_SEGMENT_BYTES,
  type ReplayResult,
  type Spool,
  type SpoolOptions,
} from './spool-api.ts'
import { type SpoolEvent, SpoolFullError, SpoolWriteError } from './spool-errors.ts'
import {
  quarantineTail,
  readMarker,
  removeMarker,
  segmentPath,
  segmentSeqs,
  spoolDir,
  syncPath,
  writeMarker,
} from './spool-files.ts'
import { encodeRecord, type ScannedRecord, scanRecords } from './spool-record.ts'

export * from './spool-api.ts'
export { type SpoolEvent, SpoolFullError, SpoolWriteError } from './spool-errors.ts'
export { spoolDir }

interface Segment {
  readonly seq: number
  readonly path: string
  size: number
  /** Offset up to which records have been replayed. */
  committed: number
  records: number
  candles: number
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
    const marker = readMarker(opts.dir)
    for (const seq of segmentSeqs(opts.dir)) {
      const seg: Segment = {
        seq,
        path: segmentPath(opts.dir, seq),
        size: 0,
        committed: 0,
        records: 0,
        candles: 0,
      }
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
        if (i < recs.length) writeMarker(this.opts.dir, seg.seq, end)
      }
      unlinkSync(seg.path)
      this.segments.shift()
      removeMarker(this.opts.dir)
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
      const to = quarantineTail(
        this.opts.dir,
        seg,
        buf.subarray(r.goodEnd),
        r.problem.offset,
        r.problem.kind,
        this.opts.clock.now(),
      )
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

  private startSegment(): { seg: Segment; fd: number } {
    const last = this.segments[this.segments.length - 1]
    const seq = (last?.seq ?? this.highestSeqOnDisk()) + 1
    const path = segmentPath(this.opts.dir, seq)
    const fd = openSync(path, 'wx')
    syncPath(this.opts.dir)
    const seg: Segment = { seq, path, size: 0, committed: 0, records: 0, candles: 0 }
    this.segments.push(seg)
    this.active = { seg, fd }
    return this.active
  }

  /** Numbering never goes back, even after every segment was replayed and deleted. */
  private highestSeqOnDisk(): number {
    return readMarker(this.opts.dir)?.seq ?? 0
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
