/**
 * One GET to Binance's REST host: a deadline on the injected clock, abortable
 * by the client's close, and every way it can fail as a RestError (TIMEOUT,
 * NETWORK, CLOSED, BAD_RESPONSE for a body over its bound or not decodable).
 * What the answer means is for rest-response.ts to say.
 */
import type { Clock } from '../../core/clock.ts'
import { HttpBodyError, httpRequest } from '../../core/http-client.ts'
import { RestError } from './rest-errors.ts'
import { networkDetail } from './rest-requests.ts'
import { parseUsedWeight, type RawResponse } from './rest-response.ts'

export interface GetOptions {
  readonly clock: Clock
  readonly timeoutMs: number
  /** Aborted when the client closes. */
  readonly closed: AbortSignal
  /** Names the request in error messages. */
  readonly what: string
  /** X-MBX-USED-WEIGHT-1M as soon as the headers arrived (undefined when absent), even if the body then fails. */
  readonly onUsedWeight: (weight: number | undefined) => void
}

export async function httpGet(url: string, o: GetOptions): Promise<RawResponse> {
  const timeout = new AbortController()
  const timer = o.clock.setTimeout(() => timeout.abort(), o.timeoutMs)
  try {
    const res = await httpRequest(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.any([timeout.signal, o.closed]),
      onHeaders: (header) => o.onUsedWeight(parseUsedWeight(header('x-mbx-used-weight-1m'))),
    })
    return {
      status: res.status,
      contentType: res.header('content-type') ?? '',
      text: res.text,
      retryAfter: res.header('retry-after'),
    }
  } catch (cause) {
    if (o.closed.aborted) throw new RestError('CLOSED', 'REST client closed', { cause })
    if (timeout.signal.aborted) {
      throw new RestError('TIMEOUT', `${o.what}: no complete response in ${o.timeoutMs} ms`, { cause })
    }
    if (cause instanceof HttpBodyError && !cause.truncated) {
      throw new RestError('BAD_RESPONSE', `${o.what}: ${cause.message}`, { cause })
    }
    throw new RestError('NETWORK', `${o.what}: ${networkDetail(cause)}`, { cause })
  } finally {
    timer.cancel()
  }
}
