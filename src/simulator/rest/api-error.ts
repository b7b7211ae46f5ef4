/**
 * Binance REST error replies: an HTTP status and a {"code","msg"} body.
 * Codes and message texts follow the spot docs' errors.md (shared/binance-api.md §7).
 */

export interface ApiError {
  readonly status: number
  readonly code: number
  readonly msg: string
}

const err = (code: number, msg: string, status = 400): ApiError => ({ status, code, msg })

export const errors = {
  mandatory: (name: string) =>
    err(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`),
  illegalChars: (name: string, legal: string) =>
    err(-1100, `Illegal characters found in parameter '${name}'; legal range is '${legal}'.`),
  invalidParam: (name: string) => err(-1130, `Data sent for parameter '${name}' is not valid.`),
  duplicate: () => err(-1101, 'Duplicate values for a parameter detected.'),
  unread: (read: number, sent: number) =>
    err(-1104, `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent}'.`),
  badCombo: () => err(-1128, 'Combination of optional parameters invalid.'),
  badInterval: () => err(-1120, 'Invalid interval.'),
  badSymbol: () => err(-1121, 'Invalid symbol.'),
  startAfterEnd: () => err(-1023, 'Start time is greater than end time.'),
  badSymbolStatus: () => err(-1122, 'Invalid symbolStatus.'),
} as const

export function errorBody(e: ApiError): string {
  return JSON.stringify({ code: e.code, msg: e.msg })
}
