/**
 * /metrics is valid Prometheus text exposition with the service's naming
 * rules, checked by our own strict reader (always) and by `promtool check
 * metrics` (when installed: Debian package `prometheus`).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type HttpServer, startHttpServer } from '../../src/http/server.ts'
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts'
import { checkExposition, PROM_CLIENT_TOTAL_GAUGES, PROMTOOL, promtool } from './exposition.ts'

/** A metric of any kind with a few observations, through whatever methods it has. */
function exercise(metrics: Metrics): void {
  for (const [key, value] of Object.entries(metrics)) {
    if (key === 'registry') continue
    const m = value as {
      inc?: (labels?: Record<string, string>, n?: number) => void
      set?: (labels: Record<string, string>, n: number) => void
      observe?: (labels: Record<string, string>, n: number) => void
      labelNames?: readonly string[]
    }
    const labelNames = ((value as { labelNames?: string[] }).labelNames ?? []) as string[]
    const labels = Object.fromEntries(labelNames.map((l) => [l, `x_${l}`]))
    try {
      if (typeof m.observe === 'function') {
        m.observe(labels, 0.004)
        m.observe(labels, 3)
      } else if (typeof m.set === 'function') m.set(labels, 2)
      else if (typeof m.inc === 'function') m.inc(labels, 1)
    } catch {
      // a metric whose methods take other shapes: its zero state is still exposed
    }
  }
}

describe('/metrics exposition', () => {
  let server: HttpServer
  let metrics: Metrics
  let text = ''
  before(async () => {
    metrics = createMetrics()
    exercise(metrics)
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      routes: new Map([
        [
          '/metrics',
          async () => ({
            status: 200,
            body: await metrics.registry.metrics(),
            contentType: metrics.registry.contentType,
          }),
        ],
      ]),
    })
    const r = await fetch(`http://127.0.0.1:${server.port}/metrics`)
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    text = await r.text()
  })
  after(async () => {
    await server?.close()
  })

  it('is valid text exposition: HELP and TYPE for every family, _total counters, base units', () => {
    const { families, problems } = checkExposition(text)
    assert.deepEqual(problems, [])
    assert.ok(families.size >= 20, `${families.size} families`)
    for (const name of [
      'feeder_ws_frames_received_total',
      'feeder_db_write_duration_seconds',
      'feeder_pipeline_latency_seconds',
      'feeder_process_resident_memory_bytes',
    ]) {
      assert.ok(families.has(name), `${name} is exposed`)
    }
  })

  it('the checker itself rejects what it should', () => {
    const bad = [
      '# HELP feeder_x_count things',
      '# TYPE feeder_x_count counter',
      'feeder_x_count 1',
      '# TYPE feeder_write_ms gauge',
      'feeder_write_ms{a="b"} 2',
      'feeder_orphan 3',
      'feeder_write_ms{a=b} 2',
      '',
    ].join('\n')
    const { problems } = checkExposition(bad)
    assert.ok(problems.some((p) => p.includes('feeder_x_count: a counter must end in _total')))
    assert.ok(problems.some((p) => p.includes('feeder_write_ms: no HELP')))
    assert.ok(problems.some((p) => p.includes('feeder_write_ms: use base units')))
    assert.ok(problems.some((p) => p.includes('feeder_orphan has no preceding HELP/TYPE')))
    assert.ok(problems.some((p) => p.includes('not a valid sample line: feeder_write_ms{a=b} 2')))
  })

  it('passes promtool check metrics', {
    skip: PROMTOOL === null && 'promtool not installed (apt-get install prometheus)',
  }, () => {
    const r = promtool(['check', 'metrics'], text)
    // Lint findings are one per line, "<metric> <problem>". The only accepted ones are
    // prom-client's default *_total gauges, which the service cannot rename.
    const findings = r.output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
    const unexpected = findings.filter(
      (l) =>
        !PROM_CLIENT_TOTAL_GAUGES.has(l.split(' ')[0] ?? '') || !/should not have "_total" suffix/.test(l),
    )
    assert.deepEqual(unexpected, [], r.output)
    assert.ok(
      r.status === 0 || (r.status === 3 && unexpected.length === 0),
      `promtool exit ${r.status}: ${r.output}`,
    )
  })
})
