/**
 * A minimal typed event emitter. Core modules emit; the edges (app wiring) log
 * and count. Listeners run synchronously, in order, like Node's; one that
 * throws cannot break the loop that emitted.
 */
export type Listener<T> = (payload: T) => void

export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, fn: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name)
    if (!set) {
      set = new Set()
      this.listeners.set(name, set)
    }
    set.add(fn as Listener<never>)
    return () => {
      set.delete(fn as Listener<never>)
    }
  }

  protected emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name)
    if (!set) return
    for (const fn of [...set]) {
      try {
        ;(fn as Listener<Events[K]>)(payload)
      } catch (err) {
        // A throwing listener is the caller's bug: surface it, but never break the emitter's own loop.
        setImmediate(() => {
          throw err
        })
      }
    }
  }
}
