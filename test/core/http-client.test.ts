/**
 * The service's HTTP client against a real node:http server on port 0: bodies
 * (plain, gzip, deflate), bounds, a connection cut mid-body, abort, refused
 * connections, POST, and kept-alive sockets.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { deflateSync, gzipSync } from 'node:zlib'
import { HttpBodyError, httpRequest } from '../../src/core/http-client.ts'

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

describe('httpRequest', () => {
  let server: Server
  let base = ''
  const routes = new Map<string, Handler>()
  const peers: number[] = []

  before(async () => {
    server = createServer((req, res) => {
      peers.push(req.socket.remotePort ?? 0)
      let body = ''
      req.on('data', (d: Buffer) => {
        body += d.toString('utf8')
      })
      req.on('end', () => (routes.get(req.url ?? '') ?? ((_, r) => r.writeHead(404).end()))(req, res, body))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })

  const json = JSON.stringify({ rows: Array.from({ length: 500 }, (_, i) => [i, `${i}.5`]) })

  it('reads a plain body, its status and headers', async () => {
    routes.set('/plain', (_, res) => res.writeHead(201, { 'x-mbx-used-weight-1m': '7' }).end(json))
    const seen: (string | null)[] = []
    const r = await httpRequest(`${base}/plain`, {
      method: 'GET',
      onHeaders: (h) => seen.push(h('x-mbx-used-weight-1m')),
    })
    assert.equal(r.status, 201)
    assert.equal(r.text, json)
    assert.equal(r.header('x-mbx-used-weight-1m'), '7')
    assert.equal(r.header('retry-after'), null)
    assert.deepEqual(seen, ['7'])
  })

  it('asks for and decodes gzip and deflate bodies', async () => {
    let asked = ''
    routes.set('/gzip', (req, res) => {
      asked = String(req.headers['accept-encoding'])
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(json))
    })
    routes.set('/deflate', (_, res) =>
      res.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateSync(json)),
    )
    assert.equal((await httpRequest(`${base}/gzip`, { method: 'GET' })).text, json)
    assert.match(asked, /gzip/)
    assert.equal((await httpRequest(`${base}/deflate`, { method: 'GET' })).text, json)
  })

  it('refuses an undecodable or unknown encoding as a body error, not a cut connection', async () => {
    routes.set('/badgzip', (_, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip'))
    routes.set('/br', (_, res) => res.writeHead(200, { 'content-encoding': 'br' }).end('x'))
    for (const path of ['/badgzip', '/br']) {
      const err = await httpRequest(`${base}${path}`, { method: 'GET' }).then(
        () => null,
        (e: unknown) => e,
      )
      assert.ok(err instanceof HttpBodyError, String(err))
      assert.equal(err.truncated, false)
    }
  })

  it('refuses a body over its bound, declared or streamed, and a gzip bomb', async () => {
    routes.set('/declared', (_, res) =>
      res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000)),
    )
    routes.set('/chunked', (_, res) => {
      res.writeHead(200)
      for (let i = 0; i < 10; i++) res.write('x'.repeat(1000))
      res.end()
    })
    routes.set('/bomb', (_, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('0'.repeat(100_000))),
    )
    for (const path of ['/declared', '/chunked', '/bomb']) {
      await assert.rejects(httpRequest(`${base}${path}`, { method: 'GET', maxBytes: 4096 }), (e: unknown) => {
        assert.ok(e instanceof HttpBodyError && !e.truncated, `${path}: ${String(e)}`)
        return true
      })
    }
  })

  it('a connection cut in the middle of the body fails, as a network failure', async () => {
    routes.set('/cut', (req, res) => {
      res.writeHead(200, { 'content-length': '10000' })
      res.write('x'.repeat(100), () => req.socket.destroy())
    })
    const err = await httpRequest(`${base}/cut`, { method: 'GET' }).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    )
    assert.ok(err !== null)
    // node reports it either as its own ECONNRESET or as a close before the end
    assert.ok(err.code === 'ECONNRESET' || (err instanceof HttpBodyError && err.truncated), String(err))
  })

  it('an abort ends a request that gets no answer', async () => {
    routes.set('/hang', () => {})
    const ac = new AbortController()
    const pending = httpRequest(`${base}/hang`, { method: 'GET', signal: ac.signal })
    ac.abort(new Error('given up'))
    await assert.rejects(pending, /given up/)
    await assert.rejects(httpRequest(`${base}/hang`, { method: 'GET', signal: ac.signal }), /given up/)
  })

  it('a refused connection rejects with its code; a non-http URL is refused', async () => {
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const port = (dead.address() as AddressInfo).port
    await new Promise<void>((r) => dead.close(() => r()))
    await assert.rejects(httpRequest(`http://127.0.0.1:${port}/`, { method: 'GET' }), {
      code: 'ECONNREFUSED',
    })
    await assert.rejects(httpRequest('ftp://127.0.0.1/', { method: 'GET' }), TypeError)
  })

  it('POSTs a body; the answer can be discarded unread', async () => {
    let got = ''
    routes.set('/post', (req, res, body) => {
      got = `${req.method} ${req.headers['content-type']} ${body}`
      res.writeHead(204).end()
    })
    const r = await httpRequest(`${base}/post`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
      readBody: false,
    })
    assert.equal(r.status, 204)
    assert.equal(r.text, '')
    assert.equal(got, 'POST application/json {"a":"é"}')
  })

  it('keeps the connection alive between requests', async () => {
    routes.set('/ka', (_, res) => res.writeHead(200).end('ok'))
    peers.length = 0
    await httpRequest(`${base}/ka`, { method: 'GET' })
    await httpRequest(`${base}/ka`, { method: 'GET' })
    assert.equal(peers.length, 2)
    assert.equal(peers[0], peers[1])
  })
})

describe('httpRequest over https', () => {
  const openssl = spawnSync('openssl', ['version']).status === 0

  it('speaks TLS and verifies the certificate: a self-signed one is refused', {
    skip: !openssl,
  }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'df-tls-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'pipe' },
    )
    let served = 0
    const server = createTlsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_, res) => {
        served++
        res.end('secret')
      },
    )
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    t.after(() => new Promise<void>((r) => server.close(() => r())))
    const port = (server.address() as AddressInfo).port
    await assert.rejects(httpRequest(`https://127.0.0.1:${port}/`, { method: 'GET' }), (e: unknown) => {
      assert.match(String((e as { code?: string }).code), /SELF_SIGNED|UNABLE_TO_VERIFY/)
      return true
    })
    assert.equal(served, 0)
  })
})
