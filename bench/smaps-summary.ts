/**
 * A process's resident memory by kind of mapping, from /proc/<pid>/smaps:
 * file-backed (the node binary, shared libraries), glibc's main arena ([heap]),
 * and anonymous mappings by size — 256 KB ones are V8 heap pages, 1–8 MB ones
 * V8's young generation and code, larger ones thread arenas and stacks.
 * `node --import tsx bench/smaps-summary.ts <pid | smaps file>`
 */
import { readFileSync } from 'node:fs'

function kind(name: string, sizeKb: number): string {
  if (name.startsWith('/')) return `file ${name.slice(name.lastIndexOf('/') + 1)}`
  if (name !== '') return name
  if (sizeKb === 256) return 'anon 256 KB (V8 heap pages)'
  if (sizeKb < 1024) return 'anon < 1 MB'
  if (sizeKb <= 8192) return 'anon 1–8 MB'
  return 'anon > 8 MB'
}

const arg = process.argv[2]
if (arg === undefined) throw new Error('usage: smaps-summary.ts <pid | smaps file>')
const text = readFileSync(/^\d+$/.test(arg) ? `/proc/${arg}/smaps` : arg, 'utf8')
const byKind = new Map<string, number>()
let current = ''
for (const line of text.split('\n')) {
  const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
  if (head) {
    current = kind(
      (head[3] ?? '').trim(),
      (Number.parseInt(head[2] as string, 16) - Number.parseInt(head[1] as string, 16)) / 1024,
    )
    continue
  }
  const rss = /^Rss:\s+(\d+) kB/.exec(line)
  if (rss) byKind.set(current, (byKind.get(current) ?? 0) + Number(rss[1]) / 1024)
}
const total = [...byKind.values()].reduce((a, b) => a + b, 0)
process.stdout.write(`resident ${total.toFixed(1)} MB\n`)
for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1]))
  if (v >= 0.05) process.stdout.write(`${v.toFixed(1).padStart(7)} MB  ${k}\n`)
