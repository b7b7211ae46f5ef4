/**
 * A real `ws` client for simulator tests: queues every frame and event so a
 * test can await them in order instead of sleeping.
 */
import { WebSocket } from 'ws'

export interface Closed {
  code: number
  reason: string
}

/** The longest a test waits for a frame, in real time. */
const WAIT_MS = 10_000
export class TestClient {
  readonly ws: WebSocket
  readonly pings: string[] = []
  private readonly queue: string[] = []
  private readonly waiters: Array<() => void> = []
  private syncSeq = 0
  readonly closed: Promise<Closed>

  private constructor(ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data) => {
      this.queue.push(String(data))
      this.wake()
    })
    ws.on('ping', (data) => {
      this.pings.push(data.toString('latin1'))
      this.wake()
    })
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        this.wake()
      })
    })
  }

  static open(url: string, opts: { autoPong?: boolean } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { autoPong: opts.autoPong ?? true })
      const client = new TestClient(ws)
      ws.once('open', () => resolve(client))
      ws.once('error', reject)
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  /** Waits for frames until `ready`; fails after WAIT_MS of real time (a frame that never comes). */
  private async waitFor(ready: () => boolean): Promise<void> {
    const deadline = Date.now() + WAIT_MS
    while (!ready()) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('connection closed while waiting')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame within ${WAIT_MS} ms`)
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left)
        this.waiters.push(resolve)
      })
      clearTimeout(timer)
    }
  }

  /** The next text frame. */
  async next(): Promise<string> {
    await this.waitFor(() => this.queue.length > 0)
    return this.queue.shift() as string
  }

  async nextJson(): Promise<unknown> {
    return JSON.parse(await this.next())
  }

  /** Waits until `n` pings have arrived in total. */
  async pingCount(n: number): Promise<void> {
    await this.waitFor(() => this.pings.length >= n)
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  /** Sends `msg` and returns the next frame (the reply, when nothing else is flowing). */
  async request(msg: unknown): Promise<unknown> {
    this.send(msg)
    return this.nextJson()
  }

  /**
   * A barrier: sends LIST_SUBSCRIPTIONS and returns every frame received
   * before its reply. Everything the client sent earlier (pongs too) has been
   * processed by the server once this resolves. Costs one incoming message.
   */
  async sync(): Promise<string[]> {
    const id = `sync${++this.syncSeq}`
    this.send({ method: 'LIST_SUBSCRIPTIONS', id })
    const before: string[] = []
    for (;;) {
      const text = await this.next()
      const msg = JSON.parse(text) as { id?: unknown }
      if (msg.id === id) return before
      before.push(text)
    }
  }

  /** Drains frames until one satisfies `pred`; returns the frames before it and it. */
  async until(
    pred: (msg: Record<string, unknown>) => boolean,
  ): Promise<{ before: string[]; hit: Record<string, unknown> }> {
    const before: string[] = []
    for (;;) {
      const text = await this.next()
      const msg = JSON.parse(text) as Record<string, unknown>
      if (pred(msg)) return { before, hit: msg }
      before.push(text)
    }
  }

  close(): Promise<Closed> {
    this.ws.close()
    return this.closed
  }
}

/** Resolves when the simulator reports `event` for a connection. */
export function once(
  sim: { hooks: { on(e: 'connection' | 'close', fn: (i: { id: number }) => void): void } },
  event: 'connection' | 'close',
): Promise<{ id: number }> {
  return new Promise((resolve) => {
    let done = false
    sim.hooks.on(event, (info) => {
      if (!done) {
        done = true
        resolve(info)
      }
    })
  })
}
