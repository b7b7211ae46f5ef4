/**
 * The worker thread that owns the embedded database. PGlite runs PostgreSQL in
 * WASM synchronously on the thread that calls it: creating a data directory,
 * migrating and a backfill's upserts hold that thread for seconds. Here they hold
 * this thread only; the service's event loop (sockets, pings, /live) stays free.
 * The protocol is in `pglite-protocol.ts`.
 */

import { setFlagsFromString } from 'node:v8'
import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { PGlite, type Transaction } from '@electric-sql/pglite'
import { pgliteOptions } from './pglite-options.ts'
import {
  errorFields,
  type Ready,
  type Reply,
  type Request,
  WASM_FLAGS,
  type WorkerInit,
} from './pglite-protocol.ts'

const port = parentPort
if (port === null) throw new Error('pglite-worker.ts runs as a worker thread only')

interface OpenTx {
  readonly tx: Transaction
  /** Resolves the transaction's callback: true commits, false rolls back. */
  readonly decide: (commit: boolean) => void
  /** Settles when PGlite has committed or rolled back. */
  readonly settled: Promise<void>
}

class Rollback extends Error {}

const init = workerData as WorkerInit
const txs = new Map<number, OpenTx>()
let nextTx = 1

interface NativeQueryable {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number; command?: string }>
  exec(sql: string): Promise<unknown>
}

function target(lite: PGlite, tx: number | undefined): NativeQueryable {
  if (tx === undefined) return lite
  const open = txs.get(tx)
  if (open === undefined) throw new Error(`transaction ${tx} is not open`)
  return open.tx
}

function begin(lite: PGlite): Promise<number> {
  const id = nextTx++
  return new Promise<number>((started, failed) => {
    let decide: (commit: boolean) => void = () => {}
    const decision = new Promise<boolean>((r) => {
      decide = r
    })
    const settled = lite
      .transaction(async (tx) => {
        txs.set(id, { tx, decide, settled })
        started(id)
        if (!(await decision)) throw new Rollback()
      })
      .catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err
      })
      .finally(() => txs.delete(id))
    // BEGIN itself failed: the callback never ran.
    settled.catch(failed)
  })
}

async function handle(lite: PGlite, req: Request): Promise<Omit<Reply & { ok: true }, 'id' | 'ok'>> {
  switch (req.op) {
    case 'query': {
      const r = await target(lite, req.tx).query(req.text, req.params)
      return { rows: r.rows, rowCount: r.command === 'SELECT' ? r.rows.length : (r.affectedRows ?? null) }
    }
    case 'exec':
      await target(lite, req.tx).exec(req.sql)
      return {}
    case 'begin':
      return { tx: await begin(lite) }
    case 'end': {
      const open = txs.get(req.tx)
      if (open === undefined) throw new Error(`transaction ${req.tx} is not open`)
      open.decide(req.commit)
      await open.settled
      return {}
    }
    case 'close':
      if (!lite.closed) await lite.close()
      return {}
  }
}

function serve(lite: PGlite, on: MessagePort): void {
  on.on('message', (req: Request) => {
    handle(lite, req).then(
      (r) => on.postMessage({ id: req.id, ok: true, ...r } satisfies Reply),
      (err: unknown) => on.postMessage({ id: req.id, ok: false, error: errorFields(err) } satisfies Reply),
    )
  })
  on.postMessage({ ready: true } satisfies Ready)
}

setFlagsFromString(WASM_FLAGS)
await PGlite.create(init.dataPath, pgliteOptions()).then(
  (lite) => serve(lite, port),
  (err: unknown) => port.postMessage({ ready: false, error: errorFields(err) } satisfies Ready),
)
