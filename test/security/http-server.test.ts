/**
 * The HTTP edge under hostile clients: unknown paths, wrong methods, huge URLs
 * and headers, malformed requests, slow senders. Nothing can be written.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { type HttpServer, json, startHttpServer } from '../../src/http/server.ts'

let server: HttpServer
let calls = 0
let base = ''

before(async () => {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    routes: new Map([
      [
        '/health',
        () => {
          calls++
          return json(200, { status: 'healthy' })
        },
      ],
    ]),
  })
  base = `http://127.0.0.1:${server.port}`
})
after(() => server.close())

/** Sends raw bytes, resolves with everything the server answered before closing. */
function raw(bytes: string, opts: { waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, '127.0.0.1')
    let out = ''
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1')
    })
    s.on('error', () => resolve(out))
    s.on('close', () => resolve(out))
    s.write(bytes)
    setTimeout(() => {
      s.destroy()
      if (out === '') reject(new Error('no answer'))
    }, opts.waitMs ?? 3_000)
  })
}

describe('HTTP server: hostile requests', () => {
  test('unknown paths are 404, including traversal and encoded tricks', async () => {
    // Raw bytes, not fetch: fetch would normalise the dot segments away before sending.
    for (const p of [
      '/nope',
      '/health/',
      '/../etc/passwd',
      '/%2e%2e/health',
      '//health',
      '/HEALTH',
      '/health%00',
      '/..%2f..%2fetc/passwd',
      '*',
    ]) {
      const r = await raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.match(r, /^HTTP\/1\.1 404/, p)
      assert.match(r, /content-type: application\/json; charset=utf-8/i)
    }
  })

  test('wrong methods are 405 with Allow, and the route never runs', async () => {
    const before = calls
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await fetch(`${base}/health`, { method, body: method === 'OPTIONS' ? null : '{"x":1}' })
      assert.equal(r.status, 405, method)
      assert.equal(r.headers.get('allow'), 'GET, HEAD')
    }
    assert.equal(calls, before)
    const head = await fetch(`${base}/health`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(await head.text(), '')
  })

  test('a huge URL is 414; huge headers are 431; the server keeps serving', async () => {
    assert.equal((await fetch(`${base}/health?${'a'.repeat(5_000)}`)).status, 414)
    const big = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`)
    assert.match(big, /^HTTP\/1\.1 431/)
    assert.equal((await fetch(`${base}/health`)).status, 200)
  })

  test('malformed requests get 400 and a closed socket', async () => {
    for (const bad of [
      'GARBAGE\r\n\r\n',
      'GET /health HTTP/9.9\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
      'GET /health HTTP/1.1\r\nBad Header\r\n\r\n',
      '\u0000\u0001\u0002\r\n\r\n',
    ]) {
      const r = await raw(bad)
      assert.match(r, /^HTTP\/1\.1 (400|505)/, JSON.stringify(bad))
    }
    assert.equal((await fetch(`${base}/health`)).status, 200)
  })

  test('a body sent to a GET route is ignored and changes nothing', async () => {
    const r = await raw(
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    )
    assert.match(r, /^HTTP\/1\.1 200/)
    assert.match(r, /X-Content-Type-Options: nosniff/i)
  })

  test('slowloris: a client sending its headers slowly is cut off', {
    timeout: 20_000,
  }, async () => {
    const started = Date.now()
    const closedAfter = await new Promise<number>((resolve) => {
      const s = connect(server.port, '127.0.0.1')
      s.write('GET /health HTTP/1.1\r\nHost: x\r\n')
      const drip = setInterval(() => s.write('X-Drip: 1\r\n'), 500)
      const give = setTimeout(() => {
        clearInterval(drip)
        s.destroy()
        resolve(Number.POSITIVE_INFINITY)
      }, 12_000)
      s.on('error', () => {})
      s.on('close', () => {
        clearInterval(drip)
        clearTimeout(give)
        resolve(Date.now() - started)
      })
    })
    assert.ok(closedAfter <= 11_000, `slow client held its socket ${closedAfter} ms`)
  })
})
