/**
 * The import graph of src/: every arrow runs from a higher layer to a lower one
 * (or within one folder), and no module reaches itself through its imports.
 * Type-only imports count: a cycle of types is still a cycle to read through.
 * And no source file grows past about 300 lines.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'

const SRC = resolve('src')

/**
 * Layers, lowest first. A folder may import its own files and folders of a
 * lower layer only. `(root)` holds nothing but what src/ needs at its top.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  // A market is data (names, paths, limits) that the configuration and everything above read.
  ['markets'],
  ['config', 'stream', 'candles', 'features', 'health'],
  ['observability', 'store', 'binance'],
  ['spool', 'feature-store', 'gaps', 'http', 'simulator', 'export'],
  ['outputs'],
  ['app'],
  ['cli'],
]

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder))
  if (i < 0) throw new Error(`src/${folder}/ has no layer in test/architecture/imports.test.ts`)
  return i
}

function files(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else if (name.endsWith('.ts')) out.push(p)
  }
  return out
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>()
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8')
    const to: string[] = []
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]
      if (spec?.startsWith('.')) to.push(resolve(dirname(f), spec))
    }
    g.set(f, to)
  }
  return g
}

const folderOf = (f: string): string => relative(SRC, f).split('/')[0] as string

describe('import graph of src/', () => {
  const g = graph()

  test('every import resolves to a file in src/', () => {
    for (const [from, to] of g)
      for (const t of to) assert.ok(g.has(t), `${relative(SRC, from)} imports a missing ${relative(SRC, t)}`)
  })

  test('arrows run down the layers only', () => {
    const up: string[] = []
    for (const [from, to] of g) {
      for (const t of to) {
        const a = folderOf(from)
        const b = folderOf(t)
        if (a !== b && layerOf(a) <= layerOf(b)) up.push(`${relative(SRC, from)} → ${relative(SRC, t)}`)
      }
    }
    assert.deepEqual(up, [])
  })

  test('no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const cycles: string[] = []
    const visit = (f: string): void => {
      state.set(f, 'open')
      stack.push(f)
      for (const t of g.get(f) ?? []) {
        if (state.get(t) === 'open')
          cycles.push(
            stack
              .slice(stack.indexOf(t))
              .map((x) => relative(SRC, x))
              .join(' → '),
          )
        else if (!state.has(t)) visit(t)
      }
      stack.pop()
      state.set(f, 'done')
    }
    for (const f of g.keys()) if (!state.has(f)) visit(f)
    assert.deepEqual(cycles, [])
  })

  test('no file in src/ is much longer than 300 lines', () => {
    // A file that needs more wants splitting (CONVENTIONS.md §7); a few lines of slack.
    const long = [...g.keys()]
      .map((f) => ({ f: relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((x) => x.lines > 310)
    assert.deepEqual(long, [])
  })
})
