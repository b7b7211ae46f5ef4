/**
 * Deployment artifacts: the Dockerfile, compose file, .env.example,
 * Kubernetes manifests, Prometheus alert rules and the Grafana dashboard
 * parse, agree with the service's configuration and endpoints, and query
 * only metrics the service exposes.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseAllDocuments, parse as parseYaml } from 'yaml'
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.ts'
import { createMetrics } from '../../src/observability/metrics.ts'
import { REPO } from '../helpers/cli.ts'
import { PROMTOOL, promtool } from './exposition.ts'
import { promqlMetrics } from './promql.ts'

const read = (p: string) => readFileSync(join(REPO, p), 'utf8')
type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {})
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/** Metric names the operations artifacts may use: the registry's, plus those the issue names. */
const DOCUMENTED = [
  'feeder_ws_frames_received_total',
  'feeder_ws_invalid_frames_total',
  'feeder_ws_reconnects_total',
  'feeder_ws_connections_open',
  'feeder_ws_connection_age_seconds',
  'feeder_candles_closed_total',
  'feeder_db_candles_written_total',
  'feeder_db_batch_candles',
  'feeder_db_write_duration_seconds',
  'feeder_pipeline_latency_seconds',
  'feeder_db_retries_total',
  'feeder_db_failed_candles_total',
  'feeder_buffer_candles',
  'feeder_spool_bytes',
  'feeder_gaps_detected_total',
  'feeder_gaps_filled_total',
  'feeder_backfill_candles_total',
  'feeder_rest_weight_used',
  'feeder_rest_rate_limited_total',
  'feeder_last_candle_age_seconds',
  'feeder_event_loop_lag_seconds',
]
const HISTOGRAMS = [
  'feeder_db_batch_candles',
  'feeder_db_write_duration_seconds',
  'feeder_pipeline_latency_seconds',
]

async function allowedMetrics(): Promise<Set<string>> {
  const names = new Set<string>(['up']) // Prometheus' own per-target series
  const add = (name: string, type: string) => {
    names.add(name)
    if (type === 'histogram' || type === 'summary')
      for (const s of ['_bucket', '_sum', '_count']) names.add(name + s)
  }
  for (const n of DOCUMENTED) add(n, HISTOGRAMS.includes(n) ? 'histogram' : 'other')
  for (const m of await createMetrics().registry.getMetricsAsJSON()) add(m.name, String(m.type))
  return names
}

describe('PromQL metric extraction', () => {
  it('finds metric names, not functions, labels, keywords or variables', () => {
    assert.deepEqual(
      promqlMetrics(
        'histogram_quantile(0.99, sum by (le, instance) (rate(feeder_x_bucket{instance=~"$instance", a="b(c)"}[$__rate_interval]))) > 0.25 and on (instance) up == 0 or time() - feeder_y offset 5m',
      ),
      ['feeder_x_bucket', 'up', 'feeder_y'],
    )
  })
})

describe('Grafana dashboard', () => {
  const dash = JSON.parse(read('deploy/grafana/data-feeder-dashboard.json')) as Obj
  const panels = arr(dash.panels).map(obj)

  it('is a dashboard with unique panel ids, a Prometheus datasource variable and a uid', () => {
    assert.equal(dash.uid, 'data-feeder')
    assert.equal(typeof dash.title, 'string')
    const ids = panels.map((p) => p.id)
    assert.equal(new Set(ids).size, ids.length)
    const vars = arr(obj(dash.templating).list).map(obj)
    assert.ok(vars.some((v) => v.type === 'datasource' && v.query === 'prometheus'))
    for (const p of panels.filter((x) => x.type !== 'row')) {
      assert.ok(arr(p.targets).length > 0, `panel ${p.title} has queries`)
      const g = obj(p.gridPos)
      assert.ok(Number(g.x) + Number(g.w) <= 24, `panel ${p.title} fits the grid`)
    }
  })

  it('queries only metrics the service exposes (or the issue names)', async () => {
    const allowed = await allowedMetrics()
    const exprs: string[] = []
    for (const p of panels) for (const t of arr(p.targets)) exprs.push(String(obj(t).expr))
    for (const v of arr(obj(dash.templating).list).map(obj)) {
      if (v.type === 'query')
        exprs.push(String(obj(v.query).query).replace(/^label_values\(([^,]+),.*$/, '$1'))
    }
    assert.ok(exprs.length >= 25, `${exprs.length} expressions`)
    const used = new Set<string>()
    for (const e of exprs) {
      const names = promqlMetrics(e)
      assert.ok(names.length > 0, `expression selects a metric: ${e}`)
      for (const n of names) {
        used.add(n)
        assert.ok(allowed.has(n), `unknown metric ${n} in: ${e}`)
      }
    }
    for (const key of [
      'feeder_ws_connections_open',
      'feeder_pipeline_latency_seconds_bucket',
      'feeder_spool_bytes',
    ])
      assert.ok(used.has(key), `the dashboard shows ${key}`)
  })
})

describe('Prometheus alert rules', () => {
  const file = 'deploy/prometheus/alerts.yml'
  const doc = obj(parseYaml(read(file)))
  const rules = arr(doc.groups).flatMap((g) => arr(obj(g).rules).map(obj))

  it('covers stream down, lag growing, gaps unfillable, spool growing and database down', async () => {
    const names = rules.map((r) => String(r.alert))
    for (const a of [
      'DataFeederStreamDown',
      'DataFeederLagGrowing',
      'DataFeederGapsUnfillable',
      'DataFeederSpoolGrowing',
      'DataFeederDatabaseDown',
    ])
      assert.ok(names.includes(a), `${a} is defined`)
    const allowed = await allowedMetrics()
    for (const r of rules) {
      assert.ok(['critical', 'warning'].includes(String(obj(r.labels).severity)), `${r.alert} severity`)
      assert.ok(String(obj(r.annotations).summary).length > 0, `${r.alert} summary`)
      for (const n of promqlMetrics(String(r.expr)))
        assert.ok(allowed.has(n), `unknown metric ${n} in ${r.alert}`)
    }
  })

  it('passes promtool check rules', {
    skip: PROMTOOL === null && 'promtool not installed (apt-get install prometheus)',
  }, () => {
    const r = promtool(['check', 'rules', join(REPO, file)])
    assert.equal(r.status, 0, r.output)
    assert.match(r.output, new RegExp(`SUCCESS: ${rules.length} rules found`))
  })
})

describe('Kubernetes manifests', () => {
  const dir = 'deploy/kubernetes'
  const files = readdirSync(join(REPO, dir)).filter((f) => /\.ya?ml$/.test(f))
  const docs: Obj[] = []
  for (const f of files) {
    for (const d of parseAllDocuments(read(join(dir, f)))) {
      assert.deepEqual(d.errors, [], `${f} parses`)
      if (d.contents !== null) docs.push(obj(d.toJSON()))
    }
  }
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind)
  const one = (kind: string): Obj => {
    const found = byKind(kind)
    assert.equal(found.length, 1, `one ${kind}`)
    return found[0] as Obj
  }

  it('has a ConfigMap of service variables and a Secret with a placeholder DB_PASSWORD', () => {
    const cm = obj(one('ConfigMap').data)
    for (const k of Object.keys(cm))
      assert.ok((CONFIG_VARIABLES as readonly string[]).includes(k), `${k} is a configuration variable`)
    assert.ok(!('DB_PASSWORD' in cm) && !('DATABASE_URL' in cm), 'no secrets in the ConfigMap')
    // The ConfigMap plus a password is a valid configuration.
    const cfg = loadConfig({ ...(cm as Record<string, string>), DB_PASSWORD: 'x' })
    assert.equal(cfg.healthPort, 8080)
    assert.equal(cfg.database.kind, 'postgres')
    const secret = one('Secret')
    assert.match(String(obj(secret.stringData).DB_PASSWORD), /CHANGE-ME/)
  })

  it('runs one non-root, read-only replica with probes, resources and the password from the Secret', () => {
    const dep = one('Deployment')
    const spec = obj(dep.spec)
    assert.equal(spec.replicas, 1)
    assert.equal(obj(spec.strategy).type, 'Recreate')
    const pod = obj(obj(spec.template).spec)
    const annotations = obj(obj(obj(spec.template).metadata).annotations)
    assert.equal(annotations['prometheus.io/scrape'], 'true')
    assert.equal(annotations['prometheus.io/path'], '/metrics')
    const port = Number(obj(one('ConfigMap').data).HEALTH_CHECK_PORT)
    assert.equal(annotations['prometheus.io/port'], String(port))
    assert.equal(obj(pod.securityContext).runAsNonRoot, true)
    assert.ok(Number(obj(pod.securityContext).runAsUser) > 0)
    const containers = arr(pod.containers).map(obj)
    assert.equal(containers.length, 1)
    const c = containers[0] as Obj
    assert.match(String(c.image), /\S+:\S+/)
    const ports = arr(c.ports).map(obj)
    assert.deepEqual(
      ports.map((p) => [p.name, p.containerPort]),
      [['http', port]],
    )
    const probe = (k: string) => obj(obj(c[k]).httpGet)
    assert.equal(probe('livenessProbe').path, '/live')
    assert.equal(probe('readinessProbe').path, '/ready')
    assert.equal(probe('startupProbe').path, '/live')
    for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe'])
      assert.ok(probe(k).port === 'http' || probe(k).port === port, `${k} port`)
    const env = arr(c.env).map(obj)
    const pw = env.find((e) => e.name === 'DB_PASSWORD')
    assert.equal(obj(obj(pw?.valueFrom).secretKeyRef).name, obj(one('Secret').metadata).name)
    assert.equal(obj(obj(pw?.valueFrom).secretKeyRef).key, 'DB_PASSWORD')
    assert.equal(
      obj(arr(c.envFrom).map(obj)[0]?.configMapRef).name,
      obj(one('ConfigMap').metadata).name,
      'variables from the ConfigMap',
    )
    const res = obj(c.resources)
    assert.deepEqual(obj(res.requests), { cpu: '100m', memory: '128Mi' })
    assert.deepEqual(obj(res.limits), { cpu: '500m', memory: '256Mi' })
    const sc = obj(c.securityContext)
    assert.equal(sc.readOnlyRootFilesystem, true)
    assert.equal(sc.allowPrivilegeEscalation, false)
    const mounts = arr(c.volumeMounts).map(obj)
    const volumes = arr(pod.volumes).map(obj)
    const tmp = mounts.find((m) => m.mountPath === '/tmp')
    assert.ok(tmp, '/tmp is writable (tsx cache)')
    assert.ok(obj(volumes.find((v) => v.name === tmp.name)).emptyDir !== undefined)
    const data = mounts.find((m) => m.mountPath === obj(one('ConfigMap').data).DATA_DIR)
    assert.ok(data, 'DATA_DIR is a volume')
    const claim = obj(obj(volumes.find((v) => v.name === data.name)).persistentVolumeClaim).claimName
    assert.equal(claim, obj(one('PersistentVolumeClaim').metadata).name)
  })

  it('exposes the HTTP port through a Service selecting the pods; kustomization lists every file', () => {
    const svc = obj(one('Service').spec)
    const dep = obj(one('Deployment').spec)
    assert.deepEqual(obj(svc.selector), obj(obj(dep.selector).matchLabels))
    assert.deepEqual(obj(obj(obj(dep.template).metadata).labels), obj(svc.selector))
    const p = obj(arr(svc.ports)[0])
    assert.equal(p.port, 8080)
    assert.equal(p.targetPort, 'http')
    const k = one('Kustomization')
    assert.deepEqual(
      arr(k.resources).map(String).sort(),
      files.filter((f) => f !== 'kustomization.yaml').sort(),
    )
    const ns = obj(one('Namespace').metadata).name
    for (const d of docs.filter((x) => !['Namespace', 'Kustomization'].includes(String(x.kind))))
      assert.equal(obj(d.metadata).namespace, ns, `${d.kind} in the namespace`)
  })
})

describe('container image and compose', () => {
  const dockerfile = read('Dockerfile')
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))

  it('Dockerfile: multi-stage, production deps from the lock file, non-root, healthcheck on /live', () => {
    const froms = lines.filter((l) => /^FROM /i.test(l))
    assert.ok(froms.length >= 2, 'multi-stage')
    const stages = froms.map((l) => /\bAS (\S+)/i.exec(l)?.[1]).filter((x) => x !== undefined)
    assert.ok(
      froms.every((l) => /node:20/.test(l) || stages.includes(l.split(/\s+/)[1] as string)),
      'Node 20 everywhere (directly or through an earlier stage)',
    )
    assert.ok(
      lines.some((l) => /^RUN .*npm ci\b.*--omit=dev/.test(l)),
      'npm ci --omit=dev',
    )
    const runtime = lines.slice(lines.lastIndexOf(froms[froms.length - 1] as string))
    const user = runtime.filter((l) => /^USER /.test(l)).pop()
    assert.ok(user, 'USER in the runtime stage')
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|$)/)
    assert.ok(
      runtime.some((l) => /^HEALTHCHECK .*\/live/.test(l)),
      'HEALTHCHECK on /live',
    )
    assert.ok(runtime.some((l) => /^EXPOSE 8080\b/.test(l)))
    assert.ok(runtime.some((l) => /^VOLUME \/data\b/.test(l)))
    assert.ok(runtime.some((l) => /^ENV .*DATA_DIR=\/data\b/.test(l)))
    // The runtime runs the compiled dist/ (from the build stage) through the bin, without src/.
    assert.ok(runtime.some((l) => /^COPY (\S+ )*bin /.test(l)))
    assert.ok(runtime.some((l) => /^COPY --from=build \S*dist /.test(l)))
    assert.ok(!runtime.some((l) => /^COPY (\S+ )*src /.test(l)), 'no sources in the runtime image')
    assert.ok(
      lines.some((l) => /^RUN node scripts\/build\.mjs/.test(l)),
      'dist/ built in the image',
    )
    assert.ok(runtime.some((l) => /^ENTRYPOINT \["node", "bin\/data-feeder.js"\]/.test(l)))
    // The build runs with production dependencies only: esbuild must be one.
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> }
    assert.ok(pkg.dependencies.esbuild, 'esbuild is a dependency, not a devDependency')
    const ignore = read('.dockerignore').split('\n')
    for (const p of ['node_modules', '.git', '.env', 'data', 'test', 'dist', '!scripts/build.mjs'])
      assert.ok(ignore.includes(p), `.dockerignore ${p}`)
  })

  it('passes hadolint', { skip: !existsSync('/usr/bin/hadolint') && 'hadolint not installed' }, () => {
    const r = spawnSync('/usr/bin/hadolint', [join(REPO, 'Dockerfile')], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout + r.stderr)
  })

  it('docker-compose.yml: TimescaleDB and the feeder, healthchecks, start order, named volumes', () => {
    const c = obj(parseYaml(read('docker-compose.yml')))
    const services = obj(c.services)
    const db = obj(services.db)
    const feeder = obj(services.feeder)
    assert.match(String(db.image), /^timescale\/timescaledb:/)
    assert.ok(arr(obj(db.healthcheck).test).join(' ').includes('pg_isready'))
    assert.ok(arr(obj(feeder.healthcheck).test).join(' ').includes('/live'))
    assert.equal(obj(obj(feeder.depends_on).db).condition, 'service_healthy')
    const env = obj(feeder.environment)
    assert.equal(env.DB_HOST, 'db')
    assert.equal(env.DATA_DIR, '/data')
    assert.match(String(env.DB_PASSWORD), /^\$\{DB_PASSWORD:\?/)
    const volumes = Object.keys(obj(c.volumes))
    for (const v of [...arr(db.volumes), ...arr(feeder.volumes)].map(String)) {
      assert.ok(volumes.includes(v.split(':')[0] as string), `${v} is a named volume`)
    }
    assert.equal(obj(arr(feeder.env_file)[0]).path, '.env')
  })

  it('.env.example lists every variable of the configuration, each with a valid default', () => {
    const text = read('.env.example')
    const entries = new Map<string, string>()
    for (const m of text.matchAll(/^# ?([A-Z][A-Z0-9_]*)=(.*)$/gm))
      entries.set(m[1] as string, m[2] as string)
    for (const v of CONFIG_VARIABLES) assert.ok(entries.has(v), `${v} in .env.example`)
    const values = Object.fromEntries(
      [...entries].filter(([k, v]) => v !== '' && (CONFIG_VARIABLES as readonly string[]).includes(k)),
    )
    // TRADING_SYMBOLS' example replaces TRADING_SYMBOL; everything else is the documented default.
    const cfg = loadConfig(values)
    assert.equal(cfg.healthPort, 8080)
    assert.equal(cfg.batchMaxCandles, 10)
    assert.equal(cfg.database.kind, 'pglite')
  })
})
