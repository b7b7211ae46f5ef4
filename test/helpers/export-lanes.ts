import type { ColumnLane } from '../../src/store/export-columnar.ts'

/** An export column and how it travels, for tests of the page parsers. */
export const lane = (name: string, kind: ColumnLane['col']['kind'], l: ColumnLane['lane']): ColumnLane => ({
  col: { name, kind, sql: name },
  lane: l,
})
