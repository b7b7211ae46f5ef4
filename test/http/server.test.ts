import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type HttpServer, json, startHttpServer } from '../../src/http/server.ts'

describe('HTTP edge', () => {
  let server: HttpServer
  let base: string
  const errors: unknown[] = []

  before(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      routes: new Map([
        ['/live', () => json(200, { status: 'alive' })],
        [
          '/boom',
          () => {
            throw new Error('kaput')
          },
        ],
      ]),
      onError: (e) => errors.push(e),
    })
    base = `http://127.0.0.1:${server.port}`
  })
  after(() => server.close())

  it('serves a route as JSON', async () => {
    const r = await fetch(`${base}/live`)
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /application\/json/)
    assert.deepEqual(await r.json(), { status: 'alive' })
  })

  it('ignores the query string', async () => {
    assert.equal((await fetch(`${base}/live?x=1`)).status, 200)
  })

  it('HEAD answers without a body', async () => {
    const r = await fetch(`${base}/live`, { method: 'HEAD' })
    assert.equal(r.status, 200)
    assert.equal(await r.text(), '')
  })

  it('unknown paths are 404', async () => {
    const r = await fetch(`${base}/admin`)
    assert.equal(r.status, 404)
    assert.equal(((await r.json()) as { error: string }).error, 'not found')
  })

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    it(`${method} is 405 with Allow`, async () => {
      const r = await fetch(`${base}/live`, { method, body: method === 'DELETE' ? null : 'x'.repeat(10_000) })
      assert.equal(r.status, 405)
      assert.equal(r.headers.get('allow'), 'GET, HEAD')
    })
  }

  it('an over-long URL is 414', async () => {
    assert.equal((await fetch(`${base}/live?${'a'.repeat(5000)}`)).status, 414)
  })

  it('a huge header is refused, and the server keeps serving', async () => {
    const r = await fetch(`${base}/live`, { headers: { 'x-big': 'b'.repeat(40_000) } })
    assert.equal(r.status, 431)
    assert.equal((await fetch(`${base}/live`)).status, 200)
  })

  it('garbage on the socket gets 400, and the server keeps serving', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(server.port, '127.0.0.1', () => s.write('\u0000\u0001NOT HTTP\r\n\r\n'))
      let data = ''
      s.on('data', (d) => {
        data += d.toString()
      })
      s.on('end', () => resolve(data))
      s.on('error', reject)
    })
    assert.match(reply, /^HTTP\/1\.1 400/)
    assert.equal((await fetch(`${base}/live`)).status, 200)
  })

  it('a throwing route is a 500 reported to onError, not a crash', async () => {
    const r = await fetch(`${base}/boom`)
    assert.equal(r.status, 500)
    assert.equal(errors.length, 1)
    assert.equal((await fetch(`${base}/live`)).status, 200)
  })
})
