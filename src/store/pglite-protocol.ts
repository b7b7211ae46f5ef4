/**
 * The messages between the service and the worker thread that owns the embedded
 * database (`pglite-worker.ts`). Every request carries an id and gets exactly one
 * reply with that id. A transaction is opened with `begin` (the reply names it),
 * its statements carry its `tx`, and `end` commits or rolls it back; while one is
 * open the worker runs nothing else, as PGlite has one session.
 */

/**
 * V8 compiles PGlite's 9.5 MB of WASM with its baseline compiler only: TurboFan's
 * optimised copy of a whole PostgreSQL costs ≈ 50 MB more resident memory and
 * seconds of CPU for no measured gain on the service's statements. The flag is
 * process-wide; no other WASM runs in the service (HTTP goes through node:http).
 */
export const WASM_FLAGS = '--liftoff-only'

export interface WorkerInit {
  /** `memory://` or the absolute path of the PGlite directory. */
  readonly dataPath: string
}

export type Request =
  | {
      readonly id: number
      readonly op: 'query'
      readonly text: string
      readonly params: unknown[]
      readonly tx?: number
    }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string; readonly tx?: number }
  | { readonly id: number; readonly op: 'begin' }
  | { readonly id: number; readonly op: 'end'; readonly tx: number; readonly commit: boolean }
  | { readonly id: number; readonly op: 'close' }

export type Reply =
  | {
      readonly id: number
      readonly ok: true
      readonly rows?: unknown[]
      readonly rowCount?: number | null
      readonly tx?: number
    }
  | { readonly id: number; readonly ok: false; readonly error: ErrorFields }

/** What the worker sends once the database is open, or why it could not open it. */
export type Ready = { readonly ready: true } | { readonly ready: false; readonly error: ErrorFields }

/** An error as plain data: structured cloning keeps only an Error's message and stack. */
export interface ErrorFields {
  readonly message: string
  readonly name?: string
  readonly stack?: string
  readonly [field: string]: string | number | undefined
}

export function errorFields(err: unknown): ErrorFields {
  if (!(err instanceof Error)) return { message: String(err) }
  const out: Record<string, string | number | undefined> = {
    message: err.message,
    name: err.name,
    stack: err.stack,
  }
  // SQLSTATE `code`, `detail`, `constraint`, `table`, … (DatabaseError's own fields).
  for (const [k, v] of Object.entries(err)) if (typeof v === 'string' || typeof v === 'number') out[k] = v
  return out as ErrorFields
}

export function errorFrom(fields: ErrorFields): Error {
  const { message, name, stack, ...rest } = fields
  const err = Object.assign(new Error(message), rest)
  if (name !== undefined && name !== 'Error') Object.defineProperty(err, 'name', { value: name })
  if (stack !== undefined) err.stack = stack
  return err
}
