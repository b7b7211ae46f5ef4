/**
 * A real `ws` server on 127.0.0.1:0 that records what each client sent, stamped
 * with the test's ManualClock, and lets a test await any condition on that log
 * (no sleeping: every recorded event re-checks the waiting conditions).
 */
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import type { TypedEmitter } from '../../src/core/typed-emitter.ts'
import type { ManualClock } from '../helpers/manual-clock.ts'

export interface Received {
  readonly at: number
  readonly kind: 'text' | 'ping' | 'pong'
  readonly data: string
}

export interface ServerSocket {
  readonly index: number
  readonly url: string
  readonly ws: WebSocket
  readonly received: Received[]
  closeCode: number | null
  closed: boolean
}

export type Waiter = () => boolean

/** Wakes waiting predicates whenever something happened. */
export class Conditions {
  private readonly waiting = new Set<{ ready: Waiter; resolve: () => void }>()
  readonly log: string[] = []

  note(entry: string): void {
    this.log.push(entry)
    for (const w of [...this.waiting]) {
      if (w.ready()) {
        this.waiting.delete(w)
        w.resolve()
      }
    }
  }

  until(ready: Waiter): Promise<void> {
    if (ready()) return Promise.resolve()
    return new Promise((resolve) => this.waiting.add({ ready, resolve }))
  }
}

export class TestServer extends Conditions {
  readonly sockets: ServerSocket[] = []
  private readonly wss: WebSocketServer
  onConnection: (s: ServerSocket) => void = () => {}

  private constructor(wss: WebSocketServer, clock: ManualClock) {
    super()
    this.wss = wss
    wss.on('connection', (ws, req) => {
      const s: ServerSocket = {
        index: this.sockets.length,
        url: req.url ?? '',
        ws,
        received: [],
        closeCode: null,
        closed: false,
      }
      this.sockets.push(s)
      const record = (kind: Received['kind'], data: Buffer) => {
        s.received.push({ at: clock.now(), kind, data: data.toString() })
        this.note(`${kind}:${s.index}`)
      }
      ws.on('message', (d) => record('text', d as Buffer))
      ws.on('ping', (d) => record('ping', d))
      ws.on('pong', (d) => record('pong', d))
      ws.on('error', () => {})
      ws.on('close', (code) => {
        s.closeCode = code
        s.closed = true
        this.note(`close:${s.index}`)
      })
      this.onConnection(s)
      this.note(`connection:${s.index}`)
    })
  }

  static async start(clock: ManualClock, opts: { autoPong?: boolean } = {}): Promise<TestServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: opts.autoPong ?? true })
    await new Promise<void>((r) => wss.once('listening', () => r()))
    return new TestServer(wss, clock)
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  socket(i: number): ServerSocket {
    const s = this.sockets[i]
    if (!s) throw new Error(`no server socket ${i}`)
    return s
  }

  connectionCount(n: number): Promise<void> {
    return this.until(() => this.sockets.length >= n)
  }

  closedSocket(i: number): Promise<void> {
    return this.until(() => this.sockets[i]?.closed === true)
  }

  open(): ServerSocket[] {
    return this.sockets.filter((s) => s.ws.readyState === WebSocket.OPEN)
  }

  totalReceived(): number {
    return this.sockets.reduce((n, s) => n + s.received.length, 0)
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.ws.terminate()
    await new Promise<void>((r) => this.wss.close(() => r()))
  }
}

/** The next emission of `name` on an emitter with `on(name, fn) => off`. */
export function nextEvent<E extends { [P in keyof E]: unknown }, K extends keyof E>(
  emitter: TypedEmitter<E>,
  name: K,
  filter: (p: E[K]) => boolean = () => true,
): Promise<E[K]> {
  return new Promise((resolve) => {
    const off = emitter.on(name, (p) => {
      if (!filter(p)) return
      off()
      resolve(p)
    })
  })
}

/** Collects every emission of `name`. */
export function collect<E extends { [P in keyof E]: unknown }, K extends keyof E>(
  emitter: TypedEmitter<E>,
  name: K,
): E[K][] {
  const out: E[K][] = []
  emitter.on(name, (p) => out.push(p))
  return out
}

/** Resolves with the first `n` emissions of `name` from now on. */
export function emissions<E extends { [P in keyof E]: unknown }, K extends keyof E>(
  emitter: TypedEmitter<E>,
  name: K,
  n: number,
): Promise<E[K][]> {
  const out: E[K][] = []
  return new Promise((resolve) => {
    const off = emitter.on(name, (p) => {
      out.push(p)
      if (out.length < n) return
      off()
      resolve(out)
    })
  })
}
