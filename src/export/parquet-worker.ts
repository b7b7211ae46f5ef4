/**
 * The export's encoding thread: columnar pages in (transferred typed arrays), the
 * Parquet file's bytes out to the main thread, which writes them. Each chunk waits
 * for the main thread's `written` before the next row group is encoded (backpressure),
 * and each page is answered with `taken` so the main thread keeps at most a few queued.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { SchemaElement } from 'hyparquet-writer'
import type { ColumnLane } from '../store/export-columnar.ts'
import type { ColumnarPage } from './columnar-page.ts'
import { parquetEncoder } from './parquet-sink.ts'
import type { ToWorker, WorkerInit } from './parquet-thread.ts'

const port = parentPort
if (!port) throw new Error('parquet-worker runs as a worker thread')
const init = workerData as WorkerInit
const written = new Map<number, () => void>()
let chunks = 0
const encoder = parquetEncoder(
  {
    write(chunk) {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk
      const id = ++chunks
      port.postMessage({ type: 'bytes', id, bytes }, [bytes.buffer as ArrayBuffer])
      return new Promise<void>((resolve) => written.set(id, resolve))
    },
  },
  init.lanes as ColumnLane[],
  init.elements as SchemaElement[],
  init.metadata,
  init.rowGroupRows,
)
let queue = Promise.resolve()
port.on('message', (m: ToWorker) => {
  if (m.type === 'written') {
    written.get(m.id)?.()
    written.delete(m.id)
    return
  }
  queue = queue
    .then(async () => {
      if (m.type === 'page') {
        await encoder.addPage(m.page as ColumnarPage)
        port.postMessage({ type: 'taken' })
      } else {
        await encoder.finish()
        port.postMessage({ type: 'done' })
      }
    })
    .catch((err: unknown) => {
      const e = err as { message?: string; code?: string }
      port.postMessage({ type: 'error', message: e.message ?? String(err), code: e.code })
    })
})
