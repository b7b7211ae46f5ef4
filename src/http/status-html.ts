/**
 * The status page's first paint, rendered on the server from the same StatusData
 * that `/status.json` answers: the header, one row per symbol (last candle, lag,
 * counts, the day's strip) and the quality log are in the HTML, so `curl` shows
 * them and the page reads without JavaScript. The page's script then redraws the
 * same elements from status.json every 10 s.
 *
 * Everything that comes from data goes through `esc` (text and attribute values).
 */
import type { StatusData, SymbolStatus } from './status-data.ts'

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c)
}

/** 2024-03-10T12:00:00.000Z → 2024-03-10 12:00Z, as the page's script writes it. */
export function when(isoText: string | null | undefined): string {
  return isoText ? isoText.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z') : '—'
}

export function duration(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—'
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3_600)
  const m = Math.floor((seconds % 3_600) / 60)
  return `${d ? `${d}d ` : ''}${d || h ? `${h}h ` : ''}${m}m ${Math.floor(seconds % 60)}s`
}

/** Minutes: a missing run narrower than this gets a marker this wide (the page's script does the same). */
const MARK = 4

export const STATE_NAMES = {
  P: 'present',
  F: 'filled late',
  E: 'confirmed empty by Binance',
  M: 'missing',
  I: 'in progress',
} as const

/** The values of the header's elements, by id. */
export function headerValues(d: StatusData): Record<string, { text: string; cls?: string }> {
  const h = d.health as {
    status?: string
    uptime_seconds?: number
    database_connected?: boolean
    websocket_connected?: boolean
    reasons?: unknown
  }
  const upDown = (ok: boolean) => ({ text: ok ? 'up' : 'down', cls: ok ? 'up' : 'down' })
  let reasons = Array.isArray(h.reasons) ? h.reasons.map(String).join('; ') : ''
  if (!d.database.ok) reasons = `${reasons ? `${reasons}; ` : ''}status query: ${d.database.error ?? ''}`
  return {
    status: { text: h.status ?? 'unknown', cls: `badge ${h.status ?? ''}` },
    uptime: { text: duration(h.uptime_seconds) },
    db: upDown(h.database_connected === true && d.database.ok),
    stream: upDown(h.websocket_connected === true),
    updated: { text: when(d.generated_at) },
    reasons: { text: reasons },
    window: { text: `${when(d.window.from)} → ${when(d.window.to)} (${d.window.minutes} minutes)` },
    shown: {
      text:
        d.symbols.length < d.symbols_total ? `showing ${d.symbols.length} of ${d.symbols_total} symbols` : '',
    },
  }
}

function strip(d: StatusData, s: SymbolStatus): string {
  const start = Date.parse(d.window.from)
  let x = 0
  const marks: string[] = []
  const rects = s.completeness.runs.map(([state, n]) => {
    const a = new Date(start + x * 60_000).toISOString()
    const b = new Date(start + (x + n - 1) * 60_000).toISOString()
    const title = `${when(a)}${n > 1 ? ` – ${when(b)}` : ''}: ${STATE_NAMES[state]} (${n} min)`
    const rect = `<rect x="${x}" y="0" width="${n}" height="1" class="st-${state}" data-state="${state}" data-n="${n}"><title>${esc(title)}</title></rect>`
    // A single missing minute is a third of a pixel at 1440 minutes in 480 px: mark it wider, on top.
    if (state === 'M' && n < MARK)
      marks.push(`<rect x="${x - (MARK - n) / 2}" y="0" width="${MARK}" height="1" class="st-M mark"></rect>`)
    x += n
    return rect
  })
  return `<svg class="strip" viewBox="0 0 ${d.window.minutes} 1" preserveAspectRatio="none" role="img" aria-label="${esc(`${s.symbol} completeness over ${d.window.minutes} minutes`)}">${rects.join('')}${marks.join('')}</svg>`
}

/** `present / filled / missing`, then the confirmed-empty and in-progress minutes when there are any. */
export function countsText(c: SymbolStatus['completeness']): string {
  const extra = [
    c.confirmed_empty > 0 ? `${c.confirmed_empty} empty` : '',
    c.in_progress > 0 ? `${c.in_progress} in progress` : '',
  ].filter((x) => x !== '')
  return `${c.present} / ${c.filled} / ${c.missing}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`
}

export function symbolRows(d: StatusData): string {
  return d.symbols
    .map((s) => {
      const c = s.completeness
      const counts = `<td class="num counts${c.missing > 0 ? ' missing' : ''}" data-present="${c.present}" data-filled="${c.filled}" data-missing="${c.missing}" data-confirmed-empty="${c.confirmed_empty}" data-in-progress="${c.in_progress}">${esc(countsText(c))}</td>`
      return [
        `<tr data-symbol="${esc(s.symbol)}">`,
        `<td class="sym">${esc(s.symbol)}</td>`,
        `<td>${esc(when(s.last_candle_time))}</td>`,
        `<td class="num">${esc(s.last_close ?? '—')}</td>`,
        `<td class="num lag">${s.lag_seconds === null ? '—' : `${esc(s.lag_seconds)} s`}</td>`,
        counts,
        `<td>${strip(d, s)}</td>`,
        '</tr>',
      ].join('')
    })
    .join('\n')
}

export function qualityRows(d: StatusData): string {
  if (d.quality.length === 0) return '<tr><td class="kv" colspan="6">no entries</td></tr>'
  return d.quality
    .map((q) => {
      const gap = q.gap_start
        ? `${when(q.gap_start)}${q.gap_end && q.gap_end !== q.gap_start ? ` – ${when(q.gap_end)}` : ''}`
        : ''
      const candles = `${q.candles_missing === null ? '' : `${q.candles_missing} missing`}${q.candles_recovered === null ? '' : ` ${q.candles_recovered} recovered`}`
      return [
        `<tr class="q" data-event="${esc(q.event_type)}">`,
        `<td>${esc(when(q.created_at))}</td>`,
        `<td>${esc(q.symbol || '—')}</td>`,
        `<td>${esc(q.event_type + (q.resolved ? ' (resolved)' : ''))}</td>`,
        `<td>${esc(gap)}</td>`,
        `<td class="num">${esc(candles)}</td>`,
        `<td class="msg">${esc(q.error_message || '')}</td>`,
        '</tr>',
      ].join('')
    })
    .join('\n')
}

export function chartOptions(d: StatusData): string {
  return d.symbols.map((s) => `<option value="${esc(s.symbol)}">${esc(s.symbol)}</option>`).join('')
}
