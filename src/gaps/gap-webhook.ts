/**
 * Optional GAP_HANDLER_URL: every detected gap is also POSTed there as JSON
 * `{symbol, market, from, to, missing}`. Fire and forget: a slow or dead
 * handler never blocks the feeder; deliveries queue (bounded), time out and
 * are retried a few times, and anything dropped is reported.
 */
import type { Clock } from '../core/clock.ts'
import { httpRequest } from '../core/http-client.ts'
import { retry, SCHEDULES } from '../core/retry.ts'

export interface GapNotice {
  readonly symbol: string
  readonly market: string
  readonly from: string // ISO open time of the first missing minute
  readonly to: string // ISO open time of the last missing minute
  readonly missing: number
}

export type WebhookEvent =
  | { readonly type: 'delivered'; readonly notice: GapNotice; readonly attempts: number }
  | { readonly type: 'failed'; readonly notice: GapNotice; readonly attempts: number; readonly error: string }
  | { readonly type: 'dropped'; readonly notice: GapNotice; readonly reason: 'queue_full' | 'closed' }

export interface GapWebhookOptions {
  readonly url: string
  readonly clock: Clock
  readonly timeoutMs?: number
  readonly attempts?: number
  readonly maxQueue?: number
  readonly onEvent?: (e: WebhookEvent) => void
  readonly random?: () => number
}

export interface GapWebhook {
  notify(n: GapNotice): void
  /** Resolves when the queue is empty (tests, shutdown). */
  idle(): Promise<void>
  close(): void
}

export function createGapWebhook(opts: GapWebhookOptions): GapWebhook {
  const timeoutMs = opts.timeoutMs ?? 5_000
  const attempts = opts.attempts ?? 3
  const maxQueue = opts.maxQueue ?? 1_000
  const random = opts.random ?? Math.random
  const queue: GapNotice[] = []
  let running = false
  let closed = false
  let idleWaiters: (() => void)[] = []
  const emit = (e: WebhookEvent) => opts.onEvent?.(e)

  /** One POST; resolves when the handler took it, throws with why it did not. */
  async function post(n: GapNotice): Promise<void> {
    const ac = new AbortController()
    const timer = opts.clock.setTimeout(() => ac.abort(), timeoutMs)
    try {
      const res = await httpRequest(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(n),
        signal: ac.signal,
        readBody: false,
      })
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`)
    } catch (e) {
      throw ac.signal.aborted ? new Error(`timeout after ${timeoutMs} ms`) : e
    } finally {
      timer.cancel()
    }
  }

  async function deliver(n: GapNotice): Promise<void> {
    try {
      const attempt = await retry(
        async (a) => {
          await post(n)
          return a
        },
        {
          schedule: SCHEDULES['gaps.webhook'],
          clock: opts.clock,
          random,
          maxRetries: attempts - 1,
          // Closed: no further try.
          retryable: () => !closed,
        },
      )
      emit({ type: 'delivered', notice: n, attempts: attempt })
    } catch (e) {
      emit({ type: 'failed', notice: n, attempts, error: String((e as Error).message ?? e) })
    }
  }

  async function pump(): Promise<void> {
    running = true
    try {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) await deliver(n)
    } finally {
      running = false
      const w = idleWaiters
      idleWaiters = []
      for (const f of w) f()
    }
  }

  return {
    notify(n) {
      if (closed) return emit({ type: 'dropped', notice: n, reason: 'closed' })
      if (queue.length >= maxQueue) return emit({ type: 'dropped', notice: n, reason: 'queue_full' })
      queue.push(n)
      if (!running) void pump()
    },
    idle: () =>
      running || queue.length > 0 ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve(),
    close() {
      closed = true
      for (const n of queue.splice(0)) emit({ type: 'dropped', notice: n, reason: 'closed' })
    },
  }
}
