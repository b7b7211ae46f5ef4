/**
 * Hostile variants of real payloads for property tests: every arbitrary here
 * starts from a fixture (or a generated valid value) and breaks it in one way.
 */
import fc from 'fast-check'

/** Fixed seed and bounded runs: reproducible, and a few seconds per file. */
export const FUZZ = { seed: 20_240_101, numRuns: 2_000 } as const

export const DECIMAL_STRING = fc.stringMatching(/^(?:0|[1-9]\d{0,12})(?:\.\d{1,8})?$/)

/** A value of another type (or a hostile one of the same type) for a slot. */
export const swapped: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    '-1',
    '1e5',
    ' 1',
    '0x10',
    'NaN',
    'Infinity',
    '01.5',
    '1.',
    '.5',
    '１２',
    '9'.repeat(40),
    `0.${'1'.repeat(30)}`,
    [],
    {},
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }),
)

type Path = ReadonlyArray<string | number>

/** Every path to a value inside a parsed JSON value (the root excluded). */
export function paths(v: unknown, prefix: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return []
  const entries: Array<[string | number, unknown]> = Array.isArray(v)
    ? v.map((x, i) => [i, x] as [number, unknown])
    : Object.entries(v as Record<string, unknown>)
  const out: Path[] = []
  for (const [k, x] of entries) {
    const p = [...prefix, k]
    out.push(p, ...paths(x, p))
  }
  return out
}

/** A deep copy of `v` with the value at `path` replaced (or deleted when `value` is DELETE). */
export const DELETE = Symbol('delete')
export function setAt(v: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>
  let node = copy
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>
  const last = path[path.length - 1] as string | number
  if (value === DELETE) {
    if (Array.isArray(node)) node.splice(last as number, 1)
    else delete node[last]
  } else node[last] = value
  return copy
}

/** Text-level damage: truncation, a byte replaced, inserted or removed, padding past the size limit. */
export function textMutation(text: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: Math.max(0, text.length - 1) })
  return fc.oneof(
    at.map((i) => text.slice(0, i)),
    fc
      .tuple(at, fc.string({ minLength: 1, maxLength: 3 }))
      .map(([i, s]) => text.slice(0, i) + s + text.slice(i + 1)),
    fc
      .tuple(at, fc.string({ minLength: 1, maxLength: 3 }))
      .map(([i, s]) => text.slice(0, i) + s + text.slice(i)),
    at.map((i) => text.slice(0, i) + text.slice(i + 1)),
    fc.constantFrom(text + ' '.repeat(70_000), `${text.slice(0, -1)},"pad":"${'x'.repeat(70_000)}"}`),
  )
}

/** Structure-level damage to a JSON document: a value type-swapped, a key deleted, a key added. */
export function jsonMutation(doc: unknown): fc.Arbitrary<unknown> {
  const all = paths(doc)
  const path = fc.constantFrom(...all)
  return fc.oneof(
    fc.tuple(path, swapped).map(([p, v]) => setAt(doc, p, v)),
    path.map((p) => setAt(doc, p, DELETE)),
    fc
      .tuple(fc.string({ maxLength: 4 }), swapped)
      .map(([k, v]) =>
        doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? { ...doc, [k]: v } : doc,
      ),
  )
}
