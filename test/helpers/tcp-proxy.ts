/**
 * A TCP proxy on loopback between a client and a real server (PostgreSQL), to
 * stage outages: cut() drops every connection and refuses new ones until
 * restore(); pause() holds the bytes in both directions (a server that hangs)
 * until resume().
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  /** Connections currently open through the proxy. */
  readonly connections: number
  /** `url` with host and port replaced by the proxy's. */
  url(url: string): string
  /** Destroys every open connection and refuses new ones. */
  cut(): void
  restore(): void
  /** Holds all bytes (both ways, existing and new connections) until resume(). */
  pause(): void
  resume(): void
  close(): Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket
  held: Array<{ to: Socket; data: Buffer }>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let isCut = false
  let paused = false

  const drop = (p: Pair) => {
    pairs.delete(p)
    p.client.destroy()
    p.upstream.destroy()
  }

  const server: Server = createServer((client) => {
    if (isCut) {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(target.port, target.host)
    const pair: Pair = { client, upstream, held: [] }
    pairs.add(pair)
    const forward = (to: Socket) => (data: Buffer) => {
      if (paused) pair.held.push({ to, data })
      else to.write(data)
    }
    client.on('data', forward(upstream))
    upstream.on('data', forward(client))
    client.on('error', () => drop(pair))
    upstream.on('error', () => drop(pair))
    client.on('close', () => drop(pair))
    upstream.on('close', () => drop(pair))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port

  return {
    port,
    get connections() {
      return pairs.size
    },
    url(u) {
      const parsed = new URL(u)
      parsed.hostname = '127.0.0.1'
      parsed.port = String(port)
      return parsed.toString()
    },
    cut() {
      isCut = true
      for (const p of [...pairs]) {
        p.client.resetAndDestroy()
        drop(p)
      }
    },
    restore() {
      isCut = false
    },
    pause() {
      paused = true
    },
    resume() {
      paused = false
      for (const p of pairs) {
        for (const h of p.held.splice(0)) h.to.write(h.data)
      }
    },
    close() {
      for (const p of [...pairs]) drop(p)
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
