/**
 * `node --expose-gc --import ./bench/memory-probe.mjs …` with DF_MEM_LOG=<file>:
 * every DF_MEM_MS ms (default 5 000) one JSON line with VmRSS split into anonymous
 * and file-backed pages (/proc/self/status), process.memoryUsage(), V8's malloced
 * memory (and its peak) and the size/used of every V8 heap space, in MB. SIGUSR2
 * forces a full collection between two samples (needs --expose-gc), to tell live
 * objects from capacity. Plain JS so it runs before tsx; for investigations only,
 * never in an RSS row. `node --import tsx bench/smaps-summary.ts <pid>` splits the
 * same process's resident memory by mapping.
 */
import { appendFileSync, readFileSync } from 'node:fs'
import v8 from 'node:v8'

const file = process.env.DF_MEM_LOG
const t0 = Date.now()
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10

function status() {
  const s = readFileSync('/proc/self/status', 'utf8')
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') }
}

function sample(tag) {
  const m = process.memoryUsage()
  const h = v8.getHeapStatistics()
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((x) => [x.space_name, [mb(x.space_size), mb(x.space_used_size)]]),
  )
  const line = {
    t: Math.round((Date.now() - t0) / 1000),
    tag,
    ...status(),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
    malloced: mb(h.malloced_memory),
    peakMalloced: mb(h.peak_malloced_memory),
    spaces,
  }
  appendFileSync(file, `${JSON.stringify(line)}\n`)
}

if (file) {
  setInterval(() => sample('tick'), Number(process.env.DF_MEM_MS ?? 5_000)).unref()
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc !== 'function') return
    sample('before-gc')
    globalThis.gc()
    sample('after-gc')
  })
}
