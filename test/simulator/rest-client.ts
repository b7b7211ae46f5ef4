/** Tiny fetch helpers for the REST simulator tests. */
import type { Simulator } from '../../src/simulator/server.ts'

export interface Got {
  status: number
  headers: Headers
  text: string
  /** Parsed body (throws if it is not JSON). */
  json: () => unknown
}

export async function get(sim: Simulator, path: string, init?: RequestInit): Promise<Got> {
  const res = await fetch(`${sim.httpBase}${path}`, init)
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) }
}

export const usedWeight = (g: Got): number => Number(g.headers.get('x-mbx-used-weight-1m'))

/** Open times of a klines answer. */
export const openTimes = (g: Got): number[] => (g.json() as number[][]).map((r) => r[0] as number)
