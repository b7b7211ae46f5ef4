/**
 * docs/OPERATIONS.md covers what an operator meets: every configuration
 * variable, endpoint and metric, a runbook section for every alert in
 * deploy/prometheus/alerts.yml, every log `code` and error code the sources
 * emit, backup/restore and upgrades. The lists are read from the sources and
 * the registry, so a new code, metric or alert without an entry fails here.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, it } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { CONFIG_VARIABLES } from '../../src/config/config.ts'
import { createMetrics } from '../../src/observability/metrics.ts'
import { REPO } from '../helpers/cli.ts'
import { promqlMetrics } from './promql.ts'

const DOC = 'docs/OPERATIONS.md'
const read = (p: string) => readFileSync(join(REPO, p), 'utf8')
type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {})
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The sections of a Markdown text at one heading level, by title (fenced code is not a heading). */
export function sections(text: string, level: number): Map<string, string> {
  const out = new Map<string, string>()
  const mark = `${'#'.repeat(level)} `
  let title: string | null = null
  let body: string[] = []
  let fenced = false
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const heading = !fenced && /^#{1,6} /.exec(line)
    if (heading && line.indexOf(' ') <= level) {
      if (title !== null) out.set(title, body.join('\n'))
      title = line.startsWith(mark) ? line.slice(mark.length).trim() : null
      body = []
    } else body.push(line)
  }
  if (title !== null) out.set(title, body.join('\n'))
  return out
}

/** The contents of the inline code spans of a Markdown text, in order. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string)
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

/**
 * The log codes a source text emits: string literals in the value of a `code:`
 * property (both sides of a ternary, a `??` fallback), and the fixed prefix of
 * a template literal (`REST_HTTP_${status}` → REST_HTTP_).
 */
export function logCodes(source: string): { codes: Set<string>; prefixes: Set<string> } {
  const codes = new Set<string>()
  const prefixes = new Set<string>()
  for (const m of source.matchAll(/(?<![\w.$])code:\s*([^,}\n]+)/g)) {
    const value = m[1] as string
    for (const l of value.matchAll(/'([A-Z][A-Z0-9_]+)'/g)) codes.add(l[1] as string)
    for (const t of value.matchAll(/`([A-Z][A-Z0-9_]*)\$\{/g)) prefixes.add(t[1] as string)
  }
  return { codes, prefixes }
}

/**
 * Error codes a source text defines: `readonly code = 'X'` fields, members of
 * `type …ErrorCode =` unions, and the first argument of `new E('X', …)` for
 * error classes whose `code` is their constructor's first parameter.
 */
export function errorCodes(source: string, codeFirstClasses: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const m of source.matchAll(/\breadonly code = '([A-Z][A-Z0-9_]+)'/g)) out.add(m[1] as string)
  for (const m of source.matchAll(/\btype \w+ErrorCode =((?:\s*\|\s*(?:'[^']*'|\([^)]*\))[^\n]*)+)/g)) {
    for (const l of (m[1] as string).matchAll(/'([A-Z][A-Z0-9_]+)'/g)) out.add(l[1] as string)
  }
  for (const cls of codeFirstClasses) {
    for (const m of source.matchAll(new RegExp(`new ${cls}\\(\\s*'([A-Z][A-Z0-9_]+)'`, 'g')))
      out.add(m[1] as string)
  }
  return out
}

const SRC = join(REPO, 'src')
const sources = sourceFiles(SRC).map((f) => ({ file: relative(REPO, f), text: readFileSync(f, 'utf8') }))
const all = sources.map((s) => s.text).join('\n')
const codeFirstClasses = [
  ...all.matchAll(/class (\w+) extends Error \{\s*readonly code: \w+ErrorCode\b/g),
].map((m) => m[1] as string)

const doc = read(DOC)
const top = sections(doc, 2)
const section = (title: string): string => {
  const s = top.get(title)
  assert.ok(s !== undefined, `${DOC} has a "## ${title}" section`)
  return s
}
/** The first cell of each table row that names codes in backticks. */
const firstCells = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|')[1] as string)

describe('operations guide: extraction helpers', () => {
  it('find log codes in literals, ternaries, fallbacks and template prefixes, not in other fields', () => {
    const src = [
      "logger.warn({ code: 'A_ONE', n: 1 }, 'x')",
      "logger[lvl]({ code: t ? 'B_TWO' : 'C_THREE' })",
      "logger.fatal({ code: err.code ?? 'FATAL', err })",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
      'logger.warn({ code: `REST_HTTP_${e.status}`, x })',
      "logger.debug({ error_code: 'NOT_ME', e.code: 'NOR_ME' })",
      'send({ code: -1001, msg })',
    ].join('\n')
    const { codes, prefixes } = logCodes(src)
    assert.deepEqual([...codes].sort(), ['A_ONE', 'B_TWO', 'C_THREE', 'FATAL'])
    assert.deepEqual([...prefixes], ['REST_HTTP_'])
  })

  it('find error codes in fields, unions and constructors', () => {
    const src = [
      "class A extends Error { readonly code = 'FIELD_CODE' }",
      'export type XErrorCode =',
      "  | 'UNION_ONE' // why",
      "  | 'UNION_TWO'",
      '  | (string & {})',
      '',
      "throw new XError('CTOR_CODE', 'message')",
      "throw new ConfigError('TRADING_SYMBOLS', 'not a code')",
    ].join('\n')
    assert.deepEqual([...errorCodes(src, ['XError'])].sort(), [
      'CTOR_CODE',
      'FIELD_CODE',
      'UNION_ONE',
      'UNION_TWO',
    ])
  })

  it('split Markdown by heading level and anchor headings as GitHub does', () => {
    const md = '# T\n## One\na\n```sh\n# not a heading\n```\n### Sub\nb\n## Two (2)\nc\n'
    assert.deepEqual([...sections(md, 2).keys()], ['One', 'Two (2)'])
    assert.match(sections(md, 2).get('One') ?? '', /# not a heading[\s\S]*### Sub\nb/)
    assert.deepEqual([...sections(md, 3).keys()], ['Sub'])
    assert.equal(anchor('Backup and restore'), 'backup-and-restore')
    assert.equal(anchor('Two (2)'), 'two-2')
    assert.equal(anchor('DataFeederStreamDown'), 'datafeederstreamdown')
    assert.deepEqual(codeSpans('`a{b}` not up `sum(rate(x[5m]))`'), ['a{b}', 'sum(rate(x[5m]))'])
  })
})

describe('operations guide (docs/OPERATIONS.md)', () => {
  it('documents every configuration variable', () => {
    const text = section('Configuration')
    for (const v of CONFIG_VARIABLES) assert.match(text, new RegExp(`\`${v}\``), `${v} is documented`)
  })

  it('documents every HTTP endpoint the service serves', () => {
    const app = read('src/app/http-routes.ts')
    const paths = [...app.matchAll(/\[\s*'(\/[^']*)',/g)].map((m) => m[1] as string)
    for (const p of ['/', '/live', '/ready', '/health', '/metrics'])
      assert.ok(
        paths.includes(p),
        `src/app/http-routes.ts serves ${p} (the route table is where this test looks)`,
      )
    const text = section('Endpoints')
    for (const p of paths) assert.ok(text.includes(`\`GET ${p}\``), `GET ${p} is documented`)
  })

  it('documents every metric the registry exposes, and no metric it does not', async () => {
    const registered = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name))
    // Metrics created outside createMetrics() would be missed by the registry: read the names too.
    for (const f of sources.filter((s) => s.file.startsWith(join('src', 'observability'))))
      for (const m of f.text.matchAll(/\bname: '(feeder_\w+)'/g)) registered.add(m[1] as string)
    assert.ok(registered.size >= 40, `${registered.size} metrics`)
    const text = section('Metrics')
    for (const name of registered)
      assert.match(text, new RegExp(`\`${escapeRe(name)}(\\{[^\`]*\\})?\``), `${name} is documented`)
    const known = (n: string) => registered.has(n) || registered.has(n.replace(/_(bucket|sum|count)$/, ''))
    for (const m of doc.matchAll(/\b(feeder_[a-z0-9_]+)/g)) {
      const name = m[1] as string
      assert.ok(known(name) || name.endsWith('_'), `${name} in ${DOC} is a metric the service exposes`)
    }
  })

  it('has a runbook section for every alert: what it means, how to confirm it, what to do', () => {
    const rules = arr(obj(parseYaml(read('deploy/prometheus/alerts.yml'))).groups)
      .flatMap((g) => arr(obj(g).rules).map(obj))
      .filter((r) => typeof r.alert === 'string')
    assert.ok(rules.length >= 10, `${rules.length} alerts`)
    const runbook = sections(section('Runbook'), 3)
    for (const r of rules) {
      const name = String(r.alert)
      const body = runbook.get(name)
      assert.ok(body !== undefined, `${DOC} has a "### ${name}" section under "## Runbook"`)
      for (const part of ['**Means**', '**Confirm**', '**Do**'])
        assert.ok(body.includes(part), `${name}: its section says ${part}`)
      // Confirming it starts with what the alert itself looks at (in code, alone or in an expression).
      for (const metric of new Set(promqlMetrics(String(r.expr))))
        assert.ok(
          codeSpans(body).some((c) => new RegExp(`(?<!\\w)${escapeRe(metric)}(?!\\w)`).test(c)),
          `${name}: its section names ${metric}`,
        )
      assert.equal(
        obj(r.annotations).runbook,
        `${DOC}#${anchor(name)}`,
        `${name}: the runbook annotation points at its section`,
      )
    }
    for (const title of runbook.keys())
      assert.ok(
        rules.some((r) => r.alert === title),
        `runbook section ${title} belongs to an alert in alerts.yml`,
      )
  })

  it('lists every log code the sources emit, with its level, meaning and action', () => {
    const table = section('Log codes')
    const rows = table.split('\n').filter((l) => l.startsWith('| `'))
    const cells = firstCells(table)
    const documented = new Set(
      cells.flatMap((c) => [...c.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string)),
    )
    const emitted = new Set<string>()
    const templates = new Set<string>()
    for (const s of sources) {
      const { codes, prefixes } = logCodes(s.text)
      for (const c of codes) {
        emitted.add(c)
        assert.ok(documented.has(c), `log code ${c} (${s.file}) is in the "Log codes" table`)
      }
      for (const p of prefixes) {
        templates.add(p)
        assert.ok(
          [...documented].some((d) => d.startsWith(p)),
          `log codes ${p}… (${s.file}) are in the "Log codes" table`,
        )
      }
    }
    assert.ok(emitted.size >= 30, `${emitted.size} log codes found in src/`)
    for (const row of rows) {
      const c = row.split('|').slice(1, -1)
      assert.equal(c.length, 4, `a row of code, level, meaning, what to do: ${row}`)
      assert.ok(
        c.every((x) => x.trim() !== ''),
        `no empty cell: ${row}`,
      )
    }
    // No entry for a code nothing emits (a fatal line carries an error's code: those count).
    const defined = new Set([...emitted, ...errorCodes(all, codeFirstClasses)])
    for (const d of documented)
      assert.ok(
        defined.has(d) || [...templates].some((p) => d.startsWith(p)),
        `${d} in the "Log codes" table is emitted by the sources`,
      )
  })

  it('lists every error code (the code of an err in a log line, or of a fatal line)', () => {
    assert.ok(codeFirstClasses.includes('StoreError') && codeFirstClasses.includes('RestError'))
    const codes = errorCodes(all, codeFirstClasses)
    assert.ok(codes.size >= 15, `${codes.size} error codes`)
    const text = `${section('Error codes')}\n${section('Log codes')}`
    for (const c of codes) assert.match(text, new RegExp(`\`${c}\``), `error code ${c} is documented`)
  })

  it('covers backup and restore and upgrades, and every link inside it resolves', () => {
    const backup = section('Backup and restore')
    for (const w of ['pg_dump', 'pg_restore', 'timescaledb_pre_restore', 'DATA_DIR', 'data-feeder migrate'])
      assert.ok(backup.includes(w), `backup and restore mentions ${w}`)
    const upgrades = section('Upgrades')
    for (const w of ['data-feeder migrate', 'schema_migrations', 'backup'])
      assert.ok(upgrades.includes(w), `upgrades mention ${w}`)
    const anchors = new Set(
      doc
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => anchor(l.replace(/^#+ /, ''))),
    )
    for (const m of doc.matchAll(/\]\(#([^)]+)\)/g))
      assert.ok(anchors.has(m[1] as string), `link #${m[1]} points at a heading`)
  })
})
