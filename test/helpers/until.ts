import { setTimeout as delay } from 'node:timers/promises'

/**
 * Waits for a condition that real I/O will make true (a row landing, a socket
 * reconnecting). Not a sleep to synchronise: it returns as soon as the
 * condition holds and fails loudly with `what` when it never does.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== null && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await delay(10)
  }
}
