/**
 * Live control messages (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS,
 * SET_PROPERTY, GET_PROPERTY): a pure function from the request text and the
 * connection's state to the reply text and the new state. Errors use the
 * nested form seen on the wire: {"error":{"code":C,"msg":M},"id":ID}.
 */
import { lineColumn, topLevelMembers } from './json-scan.ts'
import { parseStreamName, type StreamName } from './streams.ts'

export interface ControlState {
  readonly streams: readonly StreamName[]
  readonly combined: boolean
}

export interface ControlOutcome {
  readonly reply: string
  /** Present when the request changed the connection's state. */
  readonly next?: ControlState
}

const METHODS = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY']
const ID_MSG = 'Invalid request: request ID must be an unsigned integer'
const NAME_MSG = 'Invalid request: property name must be a string'
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

export function errorReply(code: number, msg: string, id: string): string {
  return `{"error":{"code":${code},"msg":${JSON.stringify(msg)}},"id":${id}}`
}

function resultReply(result: unknown, id: string): string {
  return `{"result":${JSON.stringify(result)},"id":${id}}`
}

/** The id as it must be echoed (int64 digits verbatim), or null when invalid. */
function echoId(value: unknown, raw: string | undefined): string | null {
  if (value === null) return 'null'
  if (typeof value === 'string') return /^[A-Za-z0-9]{0,36}$/.test(value) ? JSON.stringify(value) : null
  if (typeof value === 'number' && raw !== undefined && /^-?\d+$/.test(raw)) {
    const n = BigInt(raw)
    return n >= INT64_MIN && n <= INT64_MAX ? n.toString() : null
  }
  return null
}

function invalidJson(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : ''
  const pos = /position (\d+)/.exec(message)
  const at = /end of JSON/.test(message) ? text.length : pos?.[1] ? Number(pos[1]) : 0
  return errorReply(3, `Invalid JSON: expected value at ${lineColumn(text, at)}`, 'null')
}

export function handleControl(text: string, state: ControlState, maxStreams: number): ControlOutcome {
  let req: unknown
  try {
    req = JSON.parse(text)
  } catch (err) {
    return { reply: invalidJson(text, err) }
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return { reply: errorReply(2, 'Invalid request: expected a JSON object', 'null') }
  }
  const members = topLevelMembers(text)
  const body = req as Record<string, unknown>
  const idExtent = members.get('id')
  const id = idExtent ? echoId(body.id, text.slice(idExtent.start, idExtent.end)) : null
  if (id === null) return { reply: errorReply(2, ID_MSG, 'null') }

  const method = body.method
  const methodExtent = members.get('method')
  if (!methodExtent) {
    const at = lineColumn(text, text.lastIndexOf('}'))
    return { reply: errorReply(2, `Invalid request: missing field \`method\` at ${at}`, id) }
  }
  if (typeof method !== 'string' || !METHODS.includes(method)) {
    const shown = typeof method === 'string' ? method : JSON.stringify(method)
    const expected = METHODS.map((m) => `\`${m}\``).join(', ')
    const at = lineColumn(text, methodExtent.end - 1)
    return {
      reply: errorReply(
        2,
        `Invalid request: unknown variant \`${shown}\`, expected one of ${expected} at ${at}`,
        id,
      ),
    }
  }
  const params = body.params
  switch (method) {
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
      return changeStreams(method, params, state, maxStreams, id)
    case 'LIST_SUBSCRIPTIONS':
      if (Array.isArray(params) && params.length > 0) {
        return { reply: errorReply(2, 'Invalid request: too many parameters', id) }
      }
      return {
        reply: resultReply(
          state.streams.map((s) => s.name),
          id,
        ),
      }
    default:
      return property(method, params, state, id)
  }
}

function changeStreams(
  method: 'SUBSCRIBE' | 'UNSUBSCRIBE',
  params: unknown,
  state: ControlState,
  maxStreams: number,
  id: string,
): ControlOutcome {
  if (!Array.isArray(params)) return { reply: errorReply(2, 'Invalid request: missing field `params`', id) }
  const parsed: StreamName[] = []
  for (const p of params) {
    const s = parseStreamName(p)
    if (!s) return { reply: errorReply(2, 'Invalid request: invalid stream', id) }
    parsed.push(s)
  }
  let streams: StreamName[]
  if (method === 'SUBSCRIBE') {
    streams = [...state.streams]
    for (const s of parsed) if (!streams.some((x) => x.name === s.name)) streams.push(s)
    if (streams.length > maxStreams) {
      return { reply: errorReply(2, `Invalid request: more than ${maxStreams} streams`, id) }
    }
  } else {
    streams = state.streams.filter((x) => !parsed.some((s) => s.name === x.name))
  }
  return { reply: resultReply(null, id), next: { ...state, streams } }
}

function property(method: string, params: unknown, state: ControlState, id: string): ControlOutcome {
  const list = Array.isArray(params) ? params : []
  if (typeof list[0] !== 'string') return { reply: errorReply(2, NAME_MSG, id) }
  if (list.length > (method === 'SET_PROPERTY' ? 2 : 1)) {
    return { reply: errorReply(2, 'Invalid request: too many parameters', id) }
  }
  if (list[0] !== 'combined') return { reply: errorReply(0, 'Unknown property', id) }
  if (method === 'GET_PROPERTY') return { reply: resultReply(state.combined, id) }
  if (typeof list[1] !== 'boolean')
    return { reply: errorReply(1, 'Invalid value type: expected Boolean', id) }
  return { reply: resultReply(null, id), next: { ...state, combined: list[1] } }
}
