/**
 * data_quality_logs rows, fire and forget. During a database outage the rows
 * wait in memory (bounded, oldest dropped first) and are written once the
 * database answers again, so the record of the outage itself is not lost with it.
 */
import type { Clock } from '../core/clock.ts'
import type { Queryable } from '../store/db.ts'
import { insertQualityLog, type QualityEvent } from '../store/quality-log.ts'

const MAX_PENDING = 1_000

export class QualityRecorder {
  private db: Queryable | null = null
  private readonly pending: QualityEvent[] = []
  private readonly clock: Clock

  constructor(clock: Clock) {
    this.clock = clock
  }

  /** Rows are recorded from here on (none before the database is open). */
  attach(db: Queryable): void {
    this.db = db
  }

  record(event: QualityEvent): void {
    const db = this.db
    if (db === null) return
    const stamped: QualityEvent = event.details
      ? { ...event, details: { ...event.details, observed_at: new Date(this.clock.now()).toISOString() } }
      : event
    insertQualityLog(db, stamped).catch(() => {
      if (this.pending.length >= MAX_PENDING) this.pending.shift()
      this.pending.push(stamped)
    })
  }

  /** Writes the rows that waited, in order, until one fails. */
  async flushPending(): Promise<void> {
    while (this.db !== null && this.pending.length > 0) {
      const next = this.pending[0] as QualityEvent
      try {
        await insertQualityLog(this.db, next)
        this.pending.shift()
      } catch {
        return
      }
    }
  }
}
