/**
 * Corrupted /api/v3/klines answers, for testing the client's validation.
 * Row-level corruptions hit the middle row (so a client that only checks the
 * first or last row is caught) and need at least one row, `unordered` two.
 */
import type { MalformKind } from './hooks.ts'
import type { KlineRow } from './klines.ts'

export interface RawReply {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

export const JSON_TYPE = 'application/json;charset=UTF-8'
export const HTML_TYPE = 'text/html'

export function proxyHtml(status: number, reason: string): string {
  return (
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n` +
    `<center><h1>${status} ${reason}</h1></center>\r\n</body>\r\n</html>\r\n`
  )
}

const MAINTENANCE_HTML =
  '<!DOCTYPE html>\n<html><head><title>Binance</title></head>' +
  '<body><h1>System maintenance</h1><p>Please try again later.</p></body></html>\n'

export function malformKlines(rows: readonly KlineRow[], kind: MalformKind, now: number): RawReply {
  const out: unknown[][] = rows.map((r) => [...r])
  const mid = Math.floor(out.length / 2)
  const row = out[mid]
  switch (kind) {
    case 'html':
      return { status: 200, contentType: HTML_TYPE, body: MAINTENANCE_HTML }
    case 'truncated_json': {
      const text = JSON.stringify(rows)
      return {
        status: 200,
        contentType: JSON_TYPE,
        body: text.slice(0, Math.max(1, Math.floor(text.length / 2))),
      }
    }
    case 'wrong_column_count':
      row?.pop()
      break
    case 'string_for_number':
      if (row) row[0] = String(row[0])
      break
    case 'unordered':
      if (mid > 0) [out[mid - 1], out[mid]] = [out[mid] ?? [], out[mid - 1] ?? []]
      break
    case 'future_close':
      // A minute long past claims to close an hour from now.
      if (row) row[6] = now + 3_600_000
      break
    case 'duplicate_rows':
      if (row) out.splice(mid, 0, [...row])
      break
  }
  return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(out) }
}
