/**
 * The database password never shows: not in stdout/stderr of a failing CLI
 * (unreachable server, wrong database), not in /health, /ready or /metrics.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { freePort, runCli, startCli } from '../helpers/cli.ts'

const SECRET = 'Zebra-Secret-9x7Q-unique'
const MAIN = process.env.TEST_DATABASE_URL

function leaks(text: string): boolean {
  return text.includes(SECRET) || text.includes(encodeURIComponent(SECRET))
}

async function runWatchingHttp(env: Record<string, string>): Promise<{ out: string; bodies: string }> {
  const port = await freePort()
  const p = startCli(['run'], { ...env, HEALTH_CHECK_PORT: String(port), HEALTH_CHECK_HOST: '127.0.0.1' })
  let bodies = ''
  let done = false
  void p.exited.then(() => {
    done = true
  })
  // A run waits for an unreachable database; it is asked to stop after a few tries.
  const deadline = Date.now() + 6_000
  while (!done && Date.now() < deadline) {
    for (const path of ['/health', '/ready', '/metrics', '/live']) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`)
        bodies += await r.text()
      } catch {
        // not listening (yet / any more)
      }
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  if (!done) p.child.kill('SIGTERM')
  const killer = setTimeout(() => p.child.kill('SIGKILL'), 15_000)
  await p.exited
  clearTimeout(killer)
  return { out: p.stdout() + p.stderr(), bodies }
}

describe('the database password never leaks', { timeout: 60_000 }, () => {
  test('server not reachable (closed port): migrate and run', async () => {
    const url = `postgres://feeder:${SECRET}@127.0.0.1:${await freePort()}/feeder`
    const m = await runCli(['migrate'], { DATABASE_URL: url })
    assert.notEqual(m.code, 0)
    assert.ok(!leaks(m.stdout + m.stderr), m.stdout + m.stderr)
    const r = await runWatchingHttp({ DATABASE_URL: url })
    assert.ok(!leaks(r.out), r.out)
    assert.ok(!leaks(r.bodies))
  })

  test('DB_PASSWORD instead of the URL', async () => {
    const m = await runCli(['migrate'], {
      DB_HOST: '127.0.0.1',
      DB_PORT: String(await freePort()),
      DB_NAME: 'feeder',
      DB_USER: 'feeder',
      DB_PASSWORD: SECRET,
    })
    assert.notEqual(m.code, 0)
    assert.ok(!leaks(m.stdout + m.stderr), m.stdout + m.stderr)
  })

  test('real server, wrong database name', { skip: MAIN ? false : 'TEST_DATABASE_URL not set' }, async () => {
    const url = new URL(MAIN as string)
    url.password = SECRET
    url.pathname = '/df_no_such_database_x'
    const m = await runCli(['migrate'], { DATABASE_URL: url.toString() })
    assert.notEqual(m.code, 0)
    assert.match(m.stderr + m.stdout, /does not exist/)
    assert.ok(!leaks(m.stdout + m.stderr), m.stdout + m.stderr)
    const r = await runWatchingHttp({ DATABASE_URL: url.toString() })
    assert.ok(!leaks(r.out), r.out)
    assert.ok(!leaks(r.bodies))
  })

  test('invalid configuration next to a password (exit 2) does not echo it', async () => {
    const m = await runCli(['run'], {
      DATABASE_URL: `postgres://feeder:${SECRET}@127.0.0.1:5432/x`,
      DB_POOL_MAX: 'lots',
    })
    assert.equal(m.code, 2)
    assert.ok(!leaks(m.stdout + m.stderr), m.stdout + m.stderr)
  })
})
