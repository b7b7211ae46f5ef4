/**
 * Sliding-window minimum or maximum in amortised O(1): a deque of (seq, value)
 * whose values are monotonic, so its front is the extreme of the window. Each
 * entry is pushed and popped at most once. Fixed capacity (the window size):
 * the deque never holds more entries than the window.
 */
export class MonotonicDeque {
  private readonly seqs: Float64Array
  private readonly values: Float64Array
  private readonly capacity: number
  private readonly isMax: boolean
  private head = 0
  private length = 0

  constructor(capacity: number, kind: 'min' | 'max') {
    this.capacity = capacity
    this.seqs = new Float64Array(capacity)
    this.values = new Float64Array(capacity)
    this.isMax = kind === 'max'
  }

  get size(): number {
    return this.length
  }

  push(seq: number, value: number): void {
    // Later equal values win: they stay in the window longer.
    while (this.length > 0) {
      const back = this.values[(this.head + this.length - 1) % this.capacity] as number
      if (this.isMax ? back > value : back < value) break
      this.length--
    }
    if (this.length === this.capacity)
      throw new RangeError('monotonic deque overflow: window larger than capacity')
    this.seqs[(this.head + this.length) % this.capacity] = seq
    this.values[(this.head + this.length) % this.capacity] = value
    this.length++
  }

  /** Drops entries with seq < `seq` (they left the window). */
  evictBefore(seq: number): void {
    while (this.length > 0 && (this.seqs[this.head] as number) < seq) {
      this.head = (this.head + 1) % this.capacity
      this.length--
    }
  }

  /** Seq of the window's extreme; -1 when empty. */
  frontSeq(): number {
    return this.length > 0 ? (this.seqs[this.head] as number) : -1
  }

  clear(): void {
    this.head = 0
    this.length = 0
  }
}
