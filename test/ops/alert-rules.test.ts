/**
 * The alert rules do what their names say: `promtool test rules` runs the unit
 * tests in deploy/prometheus/alerts.test.yml (when promtool is installed:
 * Debian package `prometheus`), and every alert there has a case where it
 * fires and one where it must stay quiet.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { REPO } from '../helpers/cli.ts'
import { PROMTOOL, promtool } from './exposition.ts'

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {})
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

const RULES = 'deploy/prometheus/alerts.yml'
const TESTS = 'deploy/prometheus/alerts.test.yml'
const rules = arr(obj(parseYaml(readFileSync(join(REPO, RULES), 'utf8'))).groups).flatMap((g) =>
  arr(obj(g).rules).map(obj),
)
const alerts = rules.filter((r) => typeof r.alert === 'string').map((r) => String(r.alert))
const cases = arr(obj(parseYaml(readFileSync(join(REPO, TESTS), 'utf8'))).tests)
  .map(obj)
  .flatMap((t) => arr(t.alert_rule_test).map(obj))

describe('alert rule unit tests', () => {
  it('cover every alert, each firing at least once and quiet at least once', () => {
    assert.ok(alerts.length >= 10, `${alerts.length} alerts`)
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a)
      assert.ok(
        mine.some((c) => arr(c.exp_alerts).length > 0),
        `${TESTS} has a case where ${a} fires`,
      )
      assert.ok(
        mine.some((c) => arr(c.exp_alerts).length === 0),
        `${TESTS} has a case where ${a} stays quiet`,
      )
    }
    for (const c of cases) assert.ok(alerts.includes(String(c.alertname)), `${c.alertname} is an alert`)
  })

  it('pass promtool test rules', {
    skip: PROMTOOL === null && 'promtool not installed (apt-get install prometheus)',
  }, () => {
    const r = promtool(['test', 'rules', join(REPO, TESTS)])
    assert.equal(r.status, 0, r.output)
    assert.match(r.output, /SUCCESS/)
  })
})
