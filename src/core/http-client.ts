/**
 * HTTP/1.1 requests on node:http and node:https, for the REST client and the
 * gap webhook. Global fetch is not used by the service: its first call loads
 * undici (a CommonJS bundle compiled on the spot and a WASM HTTP parser), which
 * blocked the event loop for tens of milliseconds at start and kept ≈ 8 MB
 * resident, for a feeder that sends a few requests a minute. node:http is loaded
 * anyway (the health server).
 *
 * Sockets are kept alive in one agent per protocol for the process (idle ones
 * do not keep the process alive); node:https is loaded with the first https URL; gzip and deflate bodies are decoded on the
 * thread pool; a body over `maxBytes` is refused; `signal` aborts the request.
 * Failures reject with node's own errors (`code` ECONNREFUSED, ECONNRESET…), a
 * body problem with HttpBodyError.
 */
import http from 'node:http'
import type https from 'node:https'
import { createRequire } from 'node:module'
import zlib from 'node:zlib'

export interface HttpRequest {
  readonly method: 'GET' | 'POST'
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  readonly signal?: AbortSignal
  /** Largest body accepted, in bytes, before and after decoding (default 32 MiB). */
  readonly maxBytes?: number
  /** false: the body is read and discarded (text is then ''). */
  readonly readBody?: boolean
  /** Called as soon as the status line and headers arrived, before the body. */
  readonly onHeaders?: (header: (name: string) => string | null) => void
}

export interface HttpResponse {
  readonly status: number
  /** A response header by lower-case name, or null when absent. */
  header(name: string): string | null
  readonly text: string
}

/** A response body over its bound, cut short, or not decodable. */
export class HttpBodyError extends Error {
  override readonly name = 'HttpBodyError'
  /** The connection ended before the body did (a network failure, not a bad answer). */
  readonly truncated: boolean
  constructor(message: string, options: { cause?: unknown; truncated?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.truncated = options.truncated ?? false
  }
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024
interface Transport {
  request(url: URL, options: http.RequestOptions): http.ClientRequest
  readonly agent: http.Agent
}
let plain: Transport | null = null
let secure: Transport | null = null

/** node:https (and TLS, ≈ 3 MB resident) is loaded with the first https URL, not before. */
function transportFor(protocol: string): Transport {
  if (protocol === 'https:') {
    if (secure === null) {
      const tls = createRequire(import.meta.url)('node:https') as typeof https
      secure = { request: (u, o) => tls.request(u, o), agent: new tls.Agent({ keepAlive: true }) }
    }
    return secure
  }
  plain ??= { request: (u, o) => http.request(u, o), agent: new http.Agent({ keepAlive: true }) }
  return plain
}

function headerOf(res: http.IncomingMessage, name: string): string | null {
  const v = res.headers[name]
  if (v === undefined) return null
  return Array.isArray(v) ? v.join(', ') : v
}

function decode(body: Buffer, encoding: string | null, maxBytes: number): Promise<Buffer> {
  const e = (encoding ?? '').trim().toLowerCase()
  if (e === '' || e === 'identity') return Promise.resolve(body)
  const inflate = e === 'gzip' || e === 'x-gzip' ? zlib.gunzip : e === 'deflate' ? zlib.inflate : null
  if (inflate === null) return Promise.reject(new HttpBodyError(`unsupported content-encoding ${e}`))
  return new Promise((resolve, reject) => {
    inflate(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (err) reject(new HttpBodyError(`${e} body could not be decoded (${err.message})`, { cause: err }))
      else resolve(out)
    })
  })
}

export function httpRequest(url: string, r: HttpRequest): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const target = new URL(url)
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      reject(new TypeError(`not an http(s) URL: ${url}`))
      return
    }
    if (r.signal?.aborted) {
      reject(r.signal.reason ?? new Error('aborted'))
      return
    }
    const maxBytes = r.maxBytes ?? DEFAULT_MAX_BYTES
    const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate', ...r.headers }
    if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body))
    const transport = transportFor(target.protocol)
    const req = transport.request(target, { method: r.method, headers, agent: transport.agent })
    let settled = false
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      r.signal?.removeEventListener('abort', onAbort)
      return true
    }
    const fail = (err: unknown): void => {
      if (!settle()) return
      req.destroy()
      reject(err)
    }
    const onAbort = (): void => fail(r.signal?.reason ?? new Error('aborted'))
    r.signal?.addEventListener('abort', onAbort, { once: true })
    req.on('error', fail)
    req.on('response', (res) => {
      const respond = (text: string): void => {
        if (settle()) resolve({ status: res.statusCode ?? 0, header: (n) => headerOf(res, n), text })
      }
      r.onHeaders?.((n) => headerOf(res, n))
      // A connection cut mid-body: node reports it as an 'error' (ECONNRESET) or a close before the end.
      res.on('error', fail)
      res.on('close', () => {
        if (!res.complete)
          fail(new HttpBodyError('the connection closed before the response ended', { truncated: true }))
      })
      if (r.readBody === false) {
        res.on('end', () => respond(''))
        res.resume()
        return
      }
      const declared = Number(headerOf(res, 'content-length') ?? Number.NaN)
      if (declared > maxBytes) {
        fail(new HttpBodyError(`a response of ${declared} bytes is over the ${maxBytes}-byte bound`))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBytes) fail(new HttpBodyError(`the response is over the ${maxBytes}-byte bound`))
        else chunks.push(chunk)
      })
      res.on('end', () => {
        decode(Buffer.concat(chunks), headerOf(res, 'content-encoding'), maxBytes).then(
          (b) => respond(b.toString('utf8')),
          fail,
        )
      })
    })
    req.end(r.body)
  })
}
