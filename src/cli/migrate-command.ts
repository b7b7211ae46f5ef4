import { openStore } from '../app/db-supervisor.ts'
import { reportTimescale } from '../app/timescale.ts'
import type { Config } from '../config/config.ts'
import { describeDatabase } from '../config/config.ts'
import type { Logger } from '../observability/logger.ts'

export async function runMigrate(config: Config, logger: Logger): Promise<number> {
  const { db, ...r } = await openStore(config, { materialise: 'now' })
  try {
    reportTimescale(logger, config, r)
    logger.info({ database: describeDatabase(config.database) }, 'schema up to date')
    return 0
  } finally {
    await db.close()
  }
}
