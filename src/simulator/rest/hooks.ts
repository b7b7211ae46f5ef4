/** The REST side's test hooks (`sim.hooks.rest`) and their argument types. */

export type MalformKind =
  | 'wrong_column_count'
  | 'string_for_number'
  | 'unordered'
  | 'html'
  | 'truncated_json'
  | 'future_close'
  | 'duplicate_rows'

/**
 * Canned failure bodies: `proxy_html` is the HTML page a gateway in front
 * of Binance sends (502/503/504); `disconnected` and `timeout` are Binance's
 * own -1001 and -1007 JSON errors.
 */
export type FailBody = 'proxy_html' | 'disconnected' | 'timeout'

export interface RestStats {
  /** Every HTTP request that reached the REST side, hung and failed ones included. */
  requests: number
  /** Total request weight charged since start (across windows and IPs). */
  weightUsed: number
  responses429: number
  responses418: number
  /** Request count per URL path. */
  byPath: Record<string, number>
}

export interface RestHooks {
  /**
   * The next n requests fail with `status` before any other processing (no
   * weight charged). `body` is a canned kind or verbatim text; by default 502,
   * 503 and 504 get `proxy_html`, 408 gets `timeout`, anything else
   * `disconnected`. Extra `headers` (e.g. Retry-After) are added as given.
   */
  failNext(n: number, status?: number, body?: FailBody | string, headers?: Record<string, string>): void
  /** The next n requests are never answered (until the simulator closes). */
  hangNext(n: number): void
  /** The next n successful /api/v3/klines responses are corrupted in the given way. */
  malformNext(n: number, kind: MalformKind): void
  /** No rows for `symbol` with fromOpenTime ≤ openTime ≤ toOpenTime (ms). */
  outage(symbol: string, fromOpenTime: number, toOpenTime: number): void
  /** REQUEST_WEIGHT limit per minute from now on (also shown by exchangeInfo). */
  setWeightLimit(n: number): void
  stats(): RestStats
}
