/**
 * Query-string handling shared by the REST endpoints: duplicates are
 * rejected (-1101) and parameters an endpoint does not read make the request
 * fail with -1104, as Binance's "Not all sent parameters were read".
 */
import { type ApiError, errors } from './api-error.ts'

export type Params = ReadonlyMap<string, string>

export type ParamsResult = { readonly params: Params } | { readonly error: ApiError }

export function readParams(search: URLSearchParams, accepted: readonly string[]): ParamsResult {
  const params = new Map<string, string>()
  let sent = 0
  for (const [k, v] of search) {
    sent++
    if (params.has(k)) return { error: errors.duplicate() }
    params.set(k, v)
  }
  const read = [...params.keys()].filter((k) => accepted.includes(k)).length
  if (read < sent) return { error: errors.unread(read, sent) }
  return { params }
}

/** Binance's pattern for symbol parameters (lowercase is illegal on REST). */
export const SYMBOL_PATTERN = '^[A-Z0-9-_.]{1,20}$'
const SYMBOL_RE = /^[A-Z0-9\-_.]{1,20}$/
export const INTEGER_PATTERN = '^[0-9]{1,20}$'
const INTEGER_RE = /^[0-9]{1,20}$/

/** A present, non-empty value, or the -1102 error. */
export function mandatory(params: Params, name: string): string | ApiError {
  const v = params.get(name)
  return v === undefined || v === '' ? errors.mandatory(name) : v
}

export function checkSymbol(value: string, name = 'symbol'): ApiError | undefined {
  return SYMBOL_RE.test(value) ? undefined : errors.illegalChars(name, SYMBOL_PATTERN)
}

/** An optional unsigned integer; values past 2^53 are clamped (Binance clamps out-of-range times). */
export function optionalInteger(params: Params, name: string): number | undefined | ApiError {
  const v = params.get(name)
  if (v === undefined) return undefined
  if (!INTEGER_RE.test(v)) return errors.illegalChars(name, INTEGER_PATTERN)
  return Math.min(Number(v), Number.MAX_SAFE_INTEGER)
}

export function isApiError(v: unknown): v is ApiError {
  return typeof v === 'object' && v !== null && 'code' in v && 'msg' in v
}
