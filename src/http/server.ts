/**
 * The HTTP edge: a handful of read-only GET routes over node:http.
 * Unknown paths are 404, other methods 405; nothing here writes anything.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Reply {
  readonly status: number
  readonly body: string
  readonly contentType: string
}

export type Route = () => Promise<Reply> | Reply

export interface HttpServer {
  readonly port: number
  close(): Promise<void>
}

export function json(status: number, value: unknown): Reply {
  return { status, body: `${JSON.stringify(value)}\n`, contentType: 'application/json; charset=utf-8' }
}

const MAX_URL_LENGTH = 2048

export async function startHttpServer(opts: {
  host: string
  port: number
  routes: ReadonlyMap<string, Route>
  onError?: (err: unknown) => void
}): Promise<HttpServer> {
  // Slow clients (headers trickling in) are cut after 5 s; Node checks every second, not every 30.
  const options = {
    maxHeaderSize: 16 * 1024,
    requestTimeout: 10_000,
    headersTimeout: 5_000,
    connectionsCheckingInterval: 1_000,
  }
  const server: Server = createServer(options, (req, res) => {
    handle(req, res, opts.routes).catch((err: unknown) => {
      opts.onError?.(err)
      if (!res.headersSent) send(res, json(500, { error: 'internal error' }), req.method === 'HEAD')
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 5_000
  // Malformed requests get a status line and a closed socket, never a crash.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    const line = timedOut ? '408 Request Timeout' : status
    // Reply, then drop the socket: a client still trickling bytes must not keep it open.
    if (socket.writable)
      socket.end(`HTTP/1.1 ${line}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy())
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  routes: ReadonlyMap<string, Route>,
): Promise<void> {
  req.resume()
  const head = req.method === 'HEAD'
  const rawUrl = req.url ?? '/'
  if (rawUrl.length > MAX_URL_LENGTH) return send(res, json(414, { error: 'URI too long' }), head)
  const path = rawUrl.split('?', 1)[0] ?? '/'
  const route = routes.get(path)
  if (route === undefined) return send(res, json(404, { error: 'not found', path: path.slice(0, 100) }), head)
  if (req.method !== 'GET' && !head) {
    res.setHeader('Allow', 'GET, HEAD')
    return send(res, json(405, { error: 'method not allowed', allow: ['GET', 'HEAD'] }), head)
  }
  send(res, await route(), head)
}

function send(res: ServerResponse, reply: Reply, head: boolean): void {
  res.statusCode = reply.status
  res.setHeader('Content-Type', reply.contentType)
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Content-Length', Buffer.byteLength(reply.body))
  res.end(head ? undefined : reply.body)
}
