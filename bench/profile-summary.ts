/**
 * Summarises a `node --cpu-prof` profile: self time by package/area and the
 * top functions. `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`
 */
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  hitCount?: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface Profile {
  nodes: Node[]
  startTime: number
  endTime: number
  samples: number[]
}

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1] as string
  if (url.startsWith('node:')) return 'node internals'
  const s = /\/(src\/[^/]+)\//.exec(url)
  return s ? (s[1] as string) : url.replace(/^.*\//, '')
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]')
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
const totalMs = (p.endTime - p.startTime) / 1000
const perSample = totalMs / p.samples.length
const byArea = new Map<string, number>()
const byFn = new Map<string, number>()
for (const n of p.nodes) {
  const ms = (n.hitCount ?? 0) * perSample
  if (ms === 0) continue
  const { functionName, url, lineNumber } = n.callFrame
  const a = area(url, functionName)
  byArea.set(a, (byArea.get(a) ?? 0) + ms)
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}`
  byFn.set(key, (byFn.get(key) ?? 0) + ms)
}
const busy = totalMs - (byArea.get('(idle)') ?? 0)
const show = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / busy) * 100).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n')
process.stdout.write(`wall ${totalMs.toFixed(0)} ms, busy (not idle) ${busy.toFixed(0)} ms\n`)
process.stdout.write(`-- self time by area (% of busy)\n${show(byArea, 15)}\n`)
process.stdout.write(`-- top functions\n${show(byFn, Number(topArg ?? 25))}\n`)
