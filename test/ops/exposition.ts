/**
 * A strict reader of the Prometheus text exposition format (0.0.4) and the
 * naming rules the service keeps, plus `promtool check metrics` when the
 * binary is installed.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface Family {
  name: string
  type: string | null
  help: string | null
  samples: string[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
const VALUE = '(?:[-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|\\.\\d+(?:[eE][-+]?\\d+)?)|[-+]?[Ii]nf|[Nn]a[Nn])' // Go's ParseFloat (Prometheus) takes any case
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`)
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`)
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  counter: [''],
  gauge: [''],
  untyped: [''],
}

/**
 * prom-client's default metrics include three gauges named *_total (a known
 * upstream naming slip); they are the only exceptions to the _total rule.
 */
export const PROM_CLIENT_TOTAL_GAUGES: ReadonlySet<string> = new Set([
  'feeder_nodejs_active_handles_total',
  'feeder_nodejs_active_requests_total',
  'feeder_nodejs_active_resources_total',
])

/** Parses the text; returns the families and every problem found (empty when the text is clean). */
export function checkExposition(text: string): { families: Map<string, Family>; problems: string[] } {
  const problems: string[] = []
  const families = new Map<string, Family>()
  const family = (name: string): Family => {
    let f = families.get(name)
    if (!f) {
      f = { name, type: null, help: null, samples: [] }
      families.set(name, f)
    }
    return f
  }
  if (!text.endsWith('\n')) problems.push('the text does not end with a newline')
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (const [i, line] of lines.entries()) {
    const at = `line ${i + 1}`
    if (line.startsWith('# HELP ')) {
      const m = HELP.exec(line)
      if (!m) {
        problems.push(`${at}: malformed HELP: ${line}`)
        continue
      }
      const f = family(m[1] as string)
      if (f.help !== null) problems.push(`${at}: second HELP for ${f.name}`)
      f.help = m[2] as string
      continue
    }
    if (line.startsWith('# TYPE ')) {
      const m = TYPE.exec(line)
      if (!m) {
        problems.push(`${at}: malformed TYPE: ${line}`)
        continue
      }
      const f = family(m[1] as string)
      if (f.type !== null) problems.push(`${at}: second TYPE for ${f.name}`)
      if (f.samples.length > 0) problems.push(`${at}: TYPE of ${f.name} after its samples`)
      f.type = m[2] as string
      continue
    }
    if (line.startsWith('#') || line.trim() === '') continue // comments and blank lines are allowed
    const m = SAMPLE.exec(line)
    if (!m) {
      problems.push(`${at}: not a valid sample line: ${line}`)
      continue
    }
    const sample = m[1] as string
    const owner = [...families.values()].find((f) =>
      (SUFFIXES[f.type ?? 'untyped'] ?? ['']).some((s) => f.name + s === sample),
    )
    if (!owner) problems.push(`${at}: sample ${sample} has no preceding HELP/TYPE`)
    else owner.samples.push(line)
  }
  for (const f of families.values()) {
    if (f.help === null || f.help.trim() === '') problems.push(`${f.name}: no HELP`)
    if (f.type === null) problems.push(`${f.name}: no TYPE`)
    if (f.type === 'counter' && !f.name.endsWith('_total'))
      problems.push(`${f.name}: a counter must end in _total`)
    if (f.type !== 'counter' && f.name.endsWith('_total') && !PROM_CLIENT_TOTAL_GAUGES.has(f.name))
      problems.push(`${f.name}: only counters end in _total`)
    if (!f.name.startsWith('feeder_')) problems.push(`${f.name}: not under the feeder_ prefix`)
    // Units in names: time in seconds, sizes in bytes, never milliseconds or other scales.
    if (/(_ms|_milliseconds|_millis|_kb|_mb|_kilobytes|_megabytes)(_|$)/.test(f.name))
      problems.push(`${f.name}: use base units (seconds, bytes)`)
    if (/(duration|latency|_lag|_age|_time)(_|$)/.test(f.name) && !/_seconds(_total)?$/.test(f.name))
      problems.push(`${f.name}: a time must be in _seconds`)
    // A counter of events (batches refused by the spool, say) is a count, not a size.
    if (
      f.type !== 'counter' &&
      /(memory|heap|spool|_size)(_|$)/.test(f.name) &&
      !/_bytes(_total)?$/.test(f.name)
    )
      problems.push(`${f.name}: a size must be in _bytes`)
    if (f.type === 'histogram' && f.samples.length > 0) {
      const inf = f.samples.some((s) => /_bucket\{(?:.*,)?le="\+Inf"/.test(s))
      if (!inf) problems.push(`${f.name}: a histogram needs a le="+Inf" bucket`)
    }
  }
  return { families, problems }
}

export const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p)) ?? null

/** `promtool <args>` with `input` on stdin: its exit status and output. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  if (PROMTOOL === null) throw new Error('promtool is not installed')
  const r = spawnSync(PROMTOOL, args, { input: input ?? '', encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() }
}
