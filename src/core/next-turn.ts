/**
 * Long work on the event loop is cut into steps with a turn of the loop in
 * between, so sockets, timers and HTTP answers are served while it runs: the
 * service promises that the loop is never blocked for 100 ms.
 */

/** Resolves after the I/O and timers that are due now have had their turn. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve))
}
