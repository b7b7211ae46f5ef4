/** Which metrics a PromQL expression selects: shared by the deployment and documentation checks. */

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'inf',
  'nan',
])

/** Metric names a PromQL expression selects (functions, keywords, labels and variables left out). */
export function promqlMetrics(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  s = s.replace(/\{[^}]*\}/g, ' ')
  s = s.replace(/\[[^\]]*\]/g, ' ')
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  s = s.replace(/\$\{?\w+\}?/g, ' ')
  const out: string[] = []
  for (const m of s.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const name = m[1] as string
    if (m[2] !== undefined || PROMQL_WORDS.has(name.toLowerCase())) continue
    out.push(name)
  }
  return out
}
