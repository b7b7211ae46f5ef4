/**
 * The Parquet export on two threads: this (main) thread reads pages from the
 * database and unpacks them into typed arrays; a worker thread encodes them
 * (parquet-worker.ts) and hands the file's bytes back to be written here, so the
 * database's answers are parsed while the previous row group is encoded. The
 * worker's heap is capped (resourceLimits): V8 otherwise lets it grow far past the
 * row group it holds, and the export's RSS with it (measured: docs/PERFORMANCE.md).
 */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { SchemaElement } from 'hyparquet-writer'
import type { ColumnLane } from '../store/export-columnar.ts'
import { type DecimalShape, decimalPrecision } from '../store/export-queries.ts'
import { type ColumnarPage, decodePage, isText } from './columnar-page.ts'
import type { ExportOutput } from './export-output.ts'
import { parquetSchema, rowGroupRows } from './parquet-sink.ts'

/** Old-generation heap of the encoding thread, which holds one row group (ROW_GROUP_VALUES) and its encoding. */
export const WORKER_HEAP_MB = 160

/**
 * Pages handed to the worker and not yet encoded: a row group's worth (five pages of 10 000
 * minutes for one window) and one more, so the next row group is ready when an encoding ends
 * rather than read page by page after it. Unpacked pages are small (≈ 2.6 MB each).
 */
const QUEUED_PAGES = 6

export interface RowSink {
  /** The rows of one page query; resolves to the minutes they hold. */
  add(rows: readonly Record<string, unknown>[]): Promise<number>
  finish(): Promise<void>
  /** Releases what the sink holds (its thread), whether it finished or failed. */
  close?(): Promise<void>
}

export interface WorkerInit {
  readonly lanes: readonly ColumnLane[]
  readonly elements: readonly SchemaElement[]
  readonly metadata: Record<string, string>
  readonly rowGroupRows: number
}

export type ToWorker =
  | { type: 'page'; page: ColumnarPage }
  | { type: 'finish' }
  | { type: 'written'; id: number }

type FromWorker =
  | { type: 'bytes'; id: number; bytes: Uint8Array }
  | { type: 'taken' }
  | { type: 'done' }
  | { type: 'error'; message: string; code?: string }

/** The worker's module beside this one: .ts when run from source (through tsx), .js when built. */
function workerSource(): { code: string; data: Record<string, string> } {
  const self = fileURLToPath(import.meta.url)
  const url = new URL(`./parquet-worker${extname(self)}`, import.meta.url).href
  // From source the worker needs the TypeScript loader the main thread was started with.
  const tsx = extname(self) === '.ts' ? import.meta.resolve('tsx/esm/api') : ''
  const code = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register()
  await import(workerData.url)
})().catch((err) => { process.nextTick(() => { throw err }) })`
  return { code, data: { url, tsx } }
}

function transferables(page: ColumnarPage): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  for (const v of page.values)
    if (isText(v)) buffers.add(v.codes.buffer as ArrayBuffer)
    else if (!Array.isArray(v)) buffers.add(v.buffer as ArrayBuffer)
  for (const m of page.nulls) if (m) buffers.add(m.buffer as ArrayBuffer)
  return [...buffers]
}

/** The Parquet sink also takes pages already decoded (from a binary COPY). */
export interface PageSink extends RowSink {
  addPage(page: ColumnarPage): Promise<number>
  /** Each decimal column's scale and precision as the file declares them, by name. */
  readonly decimals: ReadonlyMap<string, { scale: number; precision: number }>
}

export function parquetSink(
  out: ExportOutput,
  lanes: readonly ColumnLane[],
  shapes: ReadonlyMap<string, DecimalShape>,
  metadata: Record<string, string>,
  groupRows = rowGroupRows(lanes.length),
): PageSink {
  // Built here first so a decimal no reader holds fails before the thread starts.
  const elements = parquetSchema(lanes, shapes)
  const decimals = new Map(
    [...shapes].map(([name, shape]) => [name, { scale: shape.scale, precision: decimalPrecision(shape) }]),
  )
  const source = workerSource()
  const init: WorkerInit = { lanes, elements, metadata, rowGroupRows: groupRows }
  const worker = new Worker(source.code, {
    eval: true,
    workerData: { ...source.data, ...init },
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  })
  let failure: Error | null = null
  let finished = false
  let queued = 0
  const waiters: (() => void)[] = []
  const wake = () => {
    for (const w of waiters.splice(0)) w()
  }
  const fail = (err: Error) => {
    failure ??= err
    wake()
  }
  let writes = Promise.resolve()
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'bytes') {
      writes = writes
        .then(() => out.write(m.bytes))
        .then(
          () => worker.postMessage({ type: 'written', id: m.id } satisfies ToWorker),
          (err: Error) => fail(err),
        )
    } else if (m.type === 'taken') {
      queued--
      wake()
    } else if (m.type === 'done') {
      finished = true
      wake()
    } else {
      fail(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}))
    }
  })
  worker.on('error', fail)
  worker.on('exit', (code) => {
    if (!finished)
      fail(
        Object.assign(new Error(`the Parquet encoding thread stopped (exit ${code})`), {
          code: 'EXPORT_PAGE',
        }),
      )
  })
  const until = async (ready: () => boolean) => {
    while (!ready() && !failure) await new Promise<void>((r) => waiters.push(r))
    if (failure) throw failure
  }
  async function addPage(page: ColumnarPage): Promise<number> {
    if (page.n === 0) return 0
    await until(() => queued < QUEUED_PAGES)
    queued++
    worker.postMessage({ type: 'page', page } satisfies ToWorker, transferables(page))
    return page.n
  }
  return {
    decimals,
    addPage,
    add: (rows) => addPage(decodePage(rows[0], lanes, decimals)),
    async finish() {
      await until(() => true)
      worker.postMessage({ type: 'finish' } satisfies ToWorker)
      await until(() => finished)
      await writes
      if (failure) throw failure
    },
    async close() {
      finished = true
      await worker.terminate()
    },
  }
}
