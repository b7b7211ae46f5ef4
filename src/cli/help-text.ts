/** What `data-feeder --help` and `data-feeder COMMAND --help` print. */
import type { CommandName } from './args.ts'

export const USAGE = `data-feeder — Binance 1-minute klines and bookTicker into PostgreSQL, complete and exact

Usage:
  data-feeder [run]                      run the service (default)
  data-feeder migrate                    create or update the schema, then exit
  data-feeder backfill [--symbol S] [--market M] [--from T] [--to T]
                                         fill every missing closed minute in the range from REST
  data-feeder gaps [--symbol S] [--market M] [--from T] [--to T] [--json]
                                         report missing minutes; exit 0 when none are unexplained, 3 otherwise
  data-feeder features --verify|--rebuild [--symbol S] [--market M] --from T --to T
                                         check feature_cache against its SQL definition, or rewrite it
  data-feeder export --symbol S [--market M] --from T --to T [--format parquet|csv]
                   [--windows 60,1440] [--out FILE|-] [--require-complete]
                                         one row per minute (candle, quote, features, provenance)
                                         to Parquet or CSV; exit 3 with --require-complete when incomplete
  data-feeder simulate [--port N] [--host H] [--speed X]
                                         run the offline Binance-compatible server (WS + REST)
  data-feeder sql ["STATEMENT"] [--json]
                                         run one read-only SQL statement (or read it from stdin) and
                                         print the rows; works while the service runs
  data-feeder --help | --version
  data-feeder COMMAND --help             what one command does

Markets M: spot, usdm, coinm (futures); with --symbol the default is spot, without it all (of M).
Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z) or relative (-6h, -30d).
Configuration comes from the environment or a .env file; see docs/OPERATIONS.md.
Exit codes: 0 ok, 1 fatal error, 2 configuration or usage error, 3 gaps found (export:
incomplete; features --verify: rows that differ from their definition).
`

const TIMES = `Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z, read as UTC without a zone) or relative
to now (-90m, -6h, -30d, -2w). The range defaults to the last INITIAL_BACKFILL_MINUTES closed
minutes, and never reaches past the newest closed one.`

/** `data-feeder COMMAND --help`: what that command does, its flags, exit codes. */
export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  run: `Usage: data-feeder [run]

Runs the service: streams Binance 1-minute klines and bookTicker for TRADING_SYMBOLS into the
database, repairs gaps from REST, computes features, and serves /health /ready /live /metrics
and a status page on HEALTH_CHECK_PORT. Stops cleanly on SIGTERM or SIGINT, writing (or
spooling) what is buffered. Configuration: environment or .env (docs/OPERATIONS.md).

Exit codes: 0 stopped cleanly, 1 fatal error or shutdown past SHUTDOWN_TIMEOUT_MS,
2 configuration error (including a symbol Binance does not list).
`,
  migrate: `Usage: data-feeder migrate

Creates or updates the schema of the configured database (DATABASE_URL / DB_*, else the
embedded database in DATA_DIR), with TimescaleDB where TIMESCALEDB allows it and the server
has it, then exits. Safe to run again and beside a running service.

Exit codes: 0 schema up to date, 1 a migration failed (MIGRATION_FAILED, with the cause),
2 configuration error.
`,
  backfill: `Usage: data-feeder backfill [--symbol S] [--market M] [--from T] [--to T]

Fills every missing closed minute in the range from Binance REST, for one symbol or (without
--symbol) every configured one, then rewrites the feature rows the new minutes touch.
Idempotent and resumable: only missing minutes are fetched, each page is committed as it
arrives. Shows a progress bar on a terminal, progress lines otherwise.

  --symbol S   one symbol (e.g. BTCUSDT); default: TRADING_SYMBOLS
  --market M   spot, usdm or coinm: the symbol's market (spot), else all its configured symbols
  --from T     first minute; --to T  last minute

${TIMES}

Exit codes: 0 done (minutes Binance has no data for are reported, not an error), 1 fatal
error, 2 usage or configuration error (including a symbol Binance does not list).
`,
  gaps: `Usage: data-feeder gaps [--symbol S] [--market M] [--from T] [--to T] [--json]

Reports the missing minutes of the range in the database, for one symbol or (without
--symbol) every configured one, marking those Binance confirmed it has no data for.

  --symbol S   one symbol (e.g. BTCUSDT); default: TRADING_SYMBOLS
  --market M   spot, usdm or coinm: the symbol's market (spot), else all its configured symbols
  --from T     first minute; --to T  last minute
  --json       machine-readable: one report object (an array of them without --symbol)

${TIMES}

Exit codes: 0 no unexplained missing minute, 3 some are missing, 1 fatal error,
2 usage or configuration error (including a symbol Binance does not list).
`,
  features: `Usage: data-feeder features --verify|--rebuild [--symbol S] [--market M] --from T --to T

--verify compares every feature_cache row of the range (FEATURE_WINDOWS) with the features
computed by SQL window functions over candles_1m as stored now, and lists what differs: rows
whose values differ, stored candles without their row, rows without a candle. --rebuild
recomputes the rows of the range from candles_1m and writes them over whatever is stored
(rows without a candle are deleted). Safe beside a running service.

  --verify     report; exit 3 when any row differs
  --rebuild    recompute and rewrite
  --symbol S   one symbol (e.g. BTCUSDT); default: TRADING_SYMBOLS
  --market M   spot, usdm or coinm: the symbol's market (spot), else all its configured symbols
  --from T     first minute (required); --to T  last minute (required)

Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z, read as UTC without a zone) or relative
to now (-90m, -6h, -30d, -2w). A --to past the newest closed minute stops there.

Exit codes: 0 every row matches (verify) or the rows were rewritten (rebuild), 3 some rows
differ (verify), 1 fatal error, 2 usage or configuration error.
`,
  export: `Usage: data-feeder export --symbol S [--market M] --from T --to T [--format parquet|csv]
                          [--windows 60,1440] [--out FILE|-] [--require-complete]

Writes one row per minute of the range, missing minutes included: the candle, its quote as of
the close (bid, ask and quote_time), the features of each window, and where the minute came
from (status stored, confirmed_empty, missing or in_progress; source; ingested_at). Prices and
volumes stay exact: Parquet DECIMAL with the scale the range needs, CSV the stored text.
Columns and rules: docs/ML.md. Streams in constant memory; the file appears only when
complete (written beside it under a temporary name, then renamed).

  --symbol S          the symbol (e.g. BTCUSDT)
  --market M          spot (default), usdm or coinm
  --from T, --to T    first and last minute, both included
  --format F          parquet (default; csv when --out ends in .csv) or csv
  --windows W,…       feature windows in candles; default FEATURE_WINDOWS
  --out FILE|-        default <market>-<SYMBOL>-<from>-<to>.<format> here; - writes to stdout
  --require-complete  write nothing and exit 3 when a minute is missing or in progress

Times T: ISO-8601 (2024-01-01, 2024-01-01T12:00Z, read as UTC without a zone) or relative
to now (-90m, -6h, -30d, -2w).

Exit codes: 0 written, 3 incomplete with --require-complete (nothing written), 1 fatal
error (no file left behind), 2 usage or configuration error (including an unknown symbol).
`,
  simulate: `Usage: data-feeder simulate [--port N] [--host H] [--speed X]

Runs the offline Binance-compatible server: the WebSocket streams (/ws, /stream) and the REST
endpoints the feeder uses (/api/v3/klines, exchangeInfo, time, ping), with Binance's limits
and error answers; USD-M (/fapi, /usdm) and COIN-M (/dapi, /coinm) on the same port. Point the feeder at it with BINANCE_STREAM_URL=ws://127.0.0.1:N/ws and
BINANCE_REST_URL=http://127.0.0.1:N.

  --port N     default 0 (any free port, printed at start)
  --host H     default 127.0.0.1
  --speed X    X simulated minutes per real minute (60: a minute a second); default 1

Runs until SIGTERM or SIGINT. Exit codes: 0 stopped, 2 usage error.
`,
  sql: `Usage: data-feeder sql ["STATEMENT"] [--json]

Runs one SQL statement in a read-only transaction (a write is refused) and prints the rows as
a table, or one JSON object a line with --json; at most 10 000 rows. Without a STATEMENT it is
read from stdin. With the embedded database the running service answers it through the
socket DATA_DIR/sql.sock (its writes wait meanwhile); with no service running the command
opens the database in DATA_DIR itself. With DATABASE_URL it connects to that server.

  --json       one JSON object per row

Example: data-feeder sql "SELECT symbol, count(*) FROM candles_1m GROUP BY symbol"

Exit codes: 0 rows printed, 1 the statement failed (the database's error), 2 usage or
configuration error (no statement).
`,
}
