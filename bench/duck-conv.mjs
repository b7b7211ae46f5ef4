// The conversion step of the measured DuckDB route (bench/export-duckdb.ts), in its own
// process so its peak RSS is read alone: node bench/duck-conv.mjs IN.csv OUT.parquet TYPES KV
import { DuckDBInstance } from '@duckdb/node-api'

const [, , input, output, typesJson, kv] = process.argv
const t0 = performance.now()
const instance = await DuckDBInstance.create(':memory:', {
  memory_limit: process.env.DUCK_MEMORY ?? '256MB',
  threads: process.env.DUCK_THREADS ?? '2',
  preserve_insertion_order: 'true',
})
const con = await instance.connect()
const lit = (s) => `'${s.replace(/'/g, "''")}'`
const columns = JSON.parse(typesJson)
  .map(([name, type]) => `${lit(name)}: ${lit(type)}`)
  .join(', ')
await con.run(
  `COPY (SELECT * FROM read_csv(${lit(input)}, header = true, auto_detect = false, delim = ',', quote = '"',
     escape = '"', nullstr = '', columns = {${columns}}))
   TO ${lit(output)} (FORMAT parquet, COMPRESSION ${process.env.DUCK_COMPRESSION ?? 'zstd'}, ROW_GROUP_SIZE 100000,
     KV_METADATA {'data-feeder.export': ${lit(kv ?? '{}')}})`,
)
process.stderr.write(`conversion ${((performance.now() - t0) / 1000).toFixed(2)} s\n`)
