/**
 * A small HTTP/1.1 client on node:http and node:https, for the REST client and
 * the gap webhook. Global fetch is not used in the service: its first call
 * loads undici and its WASM parser, about 20 MB of resident memory that a
 * feeder issuing a few requests a minute does not need.
 *
 * Keep-alive sockets per client; gzip and deflate bodies are decoded; a body
 * larger than `maxBytes` (after decoding) is refused; `signal` aborts the request.
 */
import http from 'node:http'
import https from 'node:https'
import zlib from 'node:zlib'

export interface HttpRequest {
  readonly method: 'GET' | 'POST'
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  readonly signal?: AbortSignal
  /** Largest body accepted, in bytes after decoding (default 32 MiB). */
  readonly maxBytes?: number
  /** Read the body (default) or discard it unread (the text is then ''). */
  readonly readBody?: boolean
}

export interface HttpResponse {
  readonly status: number
  /** A response header (lower-case name), or null when absent. */
  header(name: string): string | null
  readonly text: string
}

export interface HttpClient {
  request(url: string, r: HttpRequest): Promise<HttpResponse>
  /** Closes idle sockets and those in use; later requests still work (they open new ones). */
  close(): void
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024

/** A response body over its bound, or one that could not be decoded. */
export class HttpBodyError extends Error {
  override readonly name = 'HttpBodyError'
}

function headerOf(res: http.IncomingMessage, name: string): string | null {
  const v = res.headers[name.toLowerCase()]
  if (v === undefined) return null
  return Array.isArray(v) ? v.join(', ') : v
}

function decode(body: Buffer, encoding: string | null, maxBytes: number): Buffer {
  const e = (encoding ?? 'identity').trim().toLowerCase()
  try {
    if (e === 'gzip' || e === 'x-gzip') return zlib.gunzipSync(body, { maxOutputLength: maxBytes })
    if (e === 'deflate') return zlib.inflateSync(body, { maxOutputLength: maxBytes })
  } catch (cause) {
    throw new HttpBodyError(`${e} body could not be decoded (${(cause as Error).message})`, { cause })
  }
  if (e !== 'identity' && e !== '') throw new HttpBodyError(`unsupported content-encoding ${e}`)
  return body
}

export function createHttpClient(opts: { maxSockets?: number } = {}): HttpClient {
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets ?? 8 }
  let agents: { http: http.Agent; https: https.Agent } | null = null
  const agentFor = (protocol: string) => {
    agents ??= { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) }
    return protocol === 'https:' ? agents.https : agents.http
  }

  return {
    request(url, r) {
      return new Promise<HttpResponse>((resolve, reject) => {
        const target = new URL(url)
        if (target.protocol !== 'http:' && target.protocol !== 'https:') {
          reject(new TypeError(`not an http(s) URL: ${target.protocol}`))
          return
        }
        if (r.signal?.aborted) {
          reject(r.signal.reason ?? new Error('aborted'))
          return
        }
        const maxBytes = r.maxBytes ?? DEFAULT_MAX_BYTES
        const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate', ...r.headers }
        if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body))
        const mod = target.protocol === 'https:' ? https : http
        const req = mod.request(target, { method: r.method, headers, agent: agentFor(target.protocol) })
        let settled = false
        const fail = (err: unknown) => {
          if (settled) return
          settled = true
          r.signal?.removeEventListener('abort', onAbort)
          req.destroy()
          reject(err)
        }
        const onAbort = () => fail(r.signal?.reason ?? new Error('aborted'))
        r.signal?.addEventListener('abort', onAbort, { once: true })
        req.on('error', fail)
        req.on('response', (res) => {
          const respond = (text: string) => {
            if (settled) return
            settled = true
            r.signal?.removeEventListener('abort', onAbort)
            resolve({ status: res.statusCode ?? 0, header: (n) => headerOf(res, n), text })
          }
          res.on('error', fail)
          if (r.readBody === false) {
            res.resume()
            res.on('end', () => respond(''))
            return
          }
          const declared = Number(headerOf(res, 'content-length') ?? Number.NaN)
          if (declared > maxBytes) {
            fail(new HttpBodyError(`response of ${declared} bytes is over the ${maxBytes}-byte bound`))
            return
          }
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > maxBytes) fail(new HttpBodyError(`response is over the ${maxBytes}-byte bound`))
            else chunks.push(chunk)
          })
          res.on('end', () => {
            try {
              respond(
                decode(Buffer.concat(chunks), headerOf(res, 'content-encoding'), maxBytes).toString('utf8'),
              )
            } catch (e) {
              fail(e)
            }
          })
          // A connection that closes before the body ends is a network error, not a short body.
          res.on('close', () => {
            if (!res.complete) {
              fail(
                Object.assign(new Error('connection closed before the response ended'), {
                  code: 'ECONNRESET',
                }),
              )
            }
          })
        })
        req.end(r.body)
      })
    },
    close() {
      agents?.http.destroy()
      agents?.https.destroy()
      agents = null
    },
  }
}
