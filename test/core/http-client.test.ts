/**
 * The service's HTTP client against a real node:http server on port 0:
 * bodies plain and compressed, bounds, aborts, broken connections, POST.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import zlib from 'node:zlib'
import { createHttpClient, HttpBodyError } from '../../src/core/http-client.ts'

const routes = new Map<string, (req: IncomingMessage, res: ServerResponse, body: string) => void>()
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (d) => {
    body += d
  })
  req.on('end', () => {
    const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname)
    if (route) route(req, res, body)
    else res.writeHead(404).end('no route')
  })
})
let base = ''
const client = createHttpClient()

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(async () => {
  client.close()
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
})

describe('http client', () => {
  it('returns status, headers (case-insensitive) and the body as UTF-8', async () => {
    routes.set('/plain', (req, res) =>
      res
        .writeHead(201, { 'X-MBX-USED-WEIGHT-1M': '42', 'content-type': 'application/json' })
        .end(JSON.stringify({ q: req.url, accept: req.headers.accept, price: '€1.5' })),
    )
    const r = await client.request(`${base}/plain?a=1&b=%5B%22X%22%5D`, {
      method: 'GET',
      headers: { accept: 'application/json' },
    })
    assert.equal(r.status, 201)
    assert.equal(r.header('x-mbx-used-weight-1m'), '42')
    assert.equal(r.header('X-MBX-USED-WEIGHT-1M'), '42')
    assert.equal(r.header('retry-after'), null)
    assert.deepEqual(JSON.parse(r.text), {
      q: '/plain?a=1&b=%5B%22X%22%5D',
      accept: 'application/json',
      price: '€1.5',
    })
  })

  it('decodes gzip and deflate bodies, and asks for them', async () => {
    const text = JSON.stringify(Array.from({ length: 2000 }, (_, i) => [i, '1.00000000']))
    routes.set('/gzip', (req, res) => {
      assert.match(String(req.headers['accept-encoding']), /gzip/)
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(text))
    })
    routes.set('/deflate', (_req, res) =>
      res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateSync(text)),
    )
    assert.equal((await client.request(`${base}/gzip`, { method: 'GET' })).text, text)
    assert.equal((await client.request(`${base}/deflate`, { method: 'GET' })).text, text)
  })

  it('refuses a body over the bound (declared, streamed or decoded) and a corrupt or unknown encoding', async () => {
    const big = 'x'.repeat(10_000)
    routes.set('/declared', (_req, res) => res.end(big))
    routes.set('/chunked', (_req, res) => {
      res.writeHead(200)
      res.write(big)
      res.end(big)
    })
    routes.set('/bomb', (_req, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync('0'.repeat(1_000_000))),
    )
    routes.set('/corrupt', (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip'))
    routes.set('/br', (_req, res) => res.writeHead(200, { 'content-encoding': 'compress' }).end('x'))
    for (const path of ['/declared', '/chunked', '/bomb']) {
      await assert.rejects(
        client.request(`${base}${path}`, { method: 'GET', maxBytes: 5_000 }),
        HttpBodyError,
        path,
      )
    }
    await assert.rejects(
      client.request(`${base}/corrupt`, { method: 'GET' }),
      /gzip body could not be decoded/,
    )
    await assert.rejects(
      client.request(`${base}/br`, { method: 'GET' }),
      /unsupported content-encoding compress/,
    )
    // The client still works after each refusal.
    assert.equal((await client.request(`${base}/declared`, { method: 'GET' })).text, big)
  })

  it('an abort ends a hanging request at once with the signal’s reason', async () => {
    const hung: ServerResponse[] = []
    routes.set('/hang', (_req, res) => {
      hung.push(res)
    })
    const ac = new AbortController()
    const pending = client.request(`${base}/hang`, { method: 'GET', signal: ac.signal })
    await new Promise((r) => setTimeout(r, 20))
    ac.abort(new Error('stop now'))
    await assert.rejects(pending, /stop now/)
    // Already aborted: never sent.
    await assert.rejects(client.request(`${base}/plain`, { method: 'GET', signal: ac.signal }), /stop now/)
    for (const res of hung) res.destroy()
  })

  it('a connection cut in the middle of the body and a refused connection are errors with their codes', async () => {
    routes.set('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' })
      res.write('[1,2,')
      setTimeout(() => res.socket?.destroy(), 10)
    })
    await assert.rejects(client.request(`${base}/cut`, { method: 'GET' }), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ECONNRESET')
      return true
    })
    await assert.rejects(
      client.request('http://127.0.0.1:9/', { method: 'GET' }),
      (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
    )
    await assert.rejects(client.request('ftp://127.0.0.1/', { method: 'GET' }), /not an http\(s\) URL/)
  })

  it('POSTs a body with its length, and can discard the answer unread', async () => {
    routes.set('/hook', (req, res, body) =>
      res.writeHead(202).end(`${req.method} ${req.headers['content-length']} ${body}`.repeat(1000)),
    )
    const body = JSON.stringify({ symbol: 'BTCUSDT', missing: 1 })
    const r = await client.request(`${base}/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      readBody: false,
      maxBytes: 10,
    })
    assert.equal(r.status, 202)
    assert.equal(r.text, '')
    const read = await client.request(`${base}/hook`, { method: 'POST', body })
    assert.ok(read.text.startsWith(`POST ${Buffer.byteLength(body)} ${body}`))
  })

  it('keeps connections alive between requests, and close() drops them', async () => {
    const sockets = new Set<unknown>()
    routes.set('/who', (req, res) => {
      sockets.add(req.socket)
      res.end('ok')
    })
    const own = createHttpClient()
    for (let i = 0; i < 3; i++) await own.request(`${base}/who`, { method: 'GET' })
    assert.equal(sockets.size, 1, 'one socket reused')
    own.close()
    await own.request(`${base}/who`, { method: 'GET' })
    assert.equal(sockets.size, 2, 'a new socket after close')
    own.close()
  })
})
