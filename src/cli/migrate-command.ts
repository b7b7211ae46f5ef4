import { dbOptions } from '../app.ts'
import type { Config } from '../config/config.ts'
import { describeDatabase } from '../config/config.ts'
import type { Logger } from '../observability/logger.ts'
import { migrate } from '../store/migrate.ts'
import { openDb } from '../store/open-db.ts'
import { reportTimescale } from '../timescale-wiring.ts'

export async function runMigrate(config: Config, logger: Logger): Promise<number> {
  const db = await openDb(dbOptions(config))
  try {
    const r = await migrate(db, { timescale: config.timescale })
    reportTimescale(logger, config, r)
    logger.info({ database: describeDatabase(config.database) }, 'schema up to date')
    return 0
  } finally {
    await db.close()
  }
}
