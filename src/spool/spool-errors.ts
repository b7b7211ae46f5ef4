/** What the spool reports and throws. */

export type SpoolEvent =
  | {
      /** The last record of a segment was incomplete (killed mid-append) and was cut off. */
      readonly type: 'torn_tail'
      readonly segment: string
      readonly offset: number
      readonly bytes: number
      /** The cut bytes are kept here; they never hold a whole record. */
      readonly quarantinedTo: string
    }
  | {
      /** Damage before the end of a segment: from there on the segment is moved aside, unread. */
      readonly type: 'quarantined'
      readonly segment: string
      readonly offset: number
      readonly bytes: number
      readonly quarantinedTo: string
      readonly detail: string
    }
  | {
      /** append() refused a batch: the spool is at its size bound. */
      readonly type: 'full'
      readonly bytes: number
      readonly maxBytes: number
      readonly candles: number
    }

export class SpoolFullError extends Error {
  readonly code = 'SPOOL_FULL'
  readonly bytes: number
  readonly maxBytes: number
  constructor(bytes: number, maxBytes: number, candles: number) {
    super(`spool full: ${bytes} of ${maxBytes} bytes used, ${candles} candles not spooled`)
    this.name = 'SpoolFullError'
    this.bytes = bytes
    this.maxBytes = maxBytes
  }
}

export class SpoolWriteError extends Error {
  readonly code = 'SPOOL_WRITE_FAILED'
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'SpoolWriteError'
  }
}

export function isSpoolFullError(err: unknown): err is SpoolFullError {
  return err instanceof SpoolFullError
}
