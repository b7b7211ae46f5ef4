/**
 * Finds where each top-level member's value sits in a JSON object's text.
 * Used to echo int64 request ids verbatim (JSON.parse would round them) and
 * to report serde-style "line L column C" positions in error messages.
 * Assumes `text` already parsed as JSON.
 */

export interface Extent {
  readonly start: number
  readonly end: number // exclusive
}

function skipString(text: string, i: number): number {
  // i points at the opening quote; returns the index after the closing one.
  let j = i + 1
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
  return j + 1
}

export function topLevelMembers(text: string): Map<string, Extent> {
  const out = new Map<string, Extent>()
  let depth = 0
  let key: string | null = null
  let valueStart = -1
  let i = 0
  const finish = (end: number) => {
    if (key !== null && valueStart >= 0) out.set(key, { start: valueStart, end })
    key = null
    valueStart = -1
  }
  while (i < text.length) {
    const ch = text[i] as string
    if (ch === '"') {
      const next = skipString(text, i)
      if (depth === 1 && key === null) key = JSON.parse(text.slice(i, next)) as string
      else if (depth === 1 && valueStart < 0) valueStart = i
      i = next
      if (depth === 1 && valueStart >= 0) finish(i)
      continue
    }
    if (ch === '{' || ch === '[') {
      if (depth === 1 && valueStart < 0) valueStart = i
      depth++
    } else if (ch === '}' || ch === ']') {
      depth--
      if (depth === 1 && valueStart >= 0) finish(i + 1)
    } else if (depth === 1 && key !== null && ch !== ':' && ch !== ',' && !/\s/.test(ch)) {
      if (valueStart < 0) valueStart = i
      let j = i
      while (j < text.length && /[^\s,}\]]/.test(text[j] as string)) j++
      finish(j)
      i = j
      continue
    } else if (depth === 1 && ch === ',') {
      key = null
    }
    i++
  }
  return out
}

/** serde_json's 1-based "line L column C" for the character at `index`. */
export function lineColumn(text: string, index: number): string {
  const before = text.slice(0, Math.max(0, index))
  const line = before.split('\n').length
  const column = index - before.lastIndexOf('\n')
  return `line ${line} column ${column}`
}
