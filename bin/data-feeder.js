#!/usr/bin/env node
// Runs dist/ when it was built from exactly the sources in src/ (npm ci builds it);
// otherwise runs the TypeScript sources through tsx, so an edit never runs stale code.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { HASH_FILE, sourceHash } from './source-hash.js'

const root = fileURLToPath(new URL('..', import.meta.url))

function builtFromCurrentSources() {
  if (process.env.DATA_FEEDER_FROM_SOURCE === '1') return false
  try {
    const built = readFileSync(new URL(`../${HASH_FILE}`, import.meta.url), 'utf8').trim()
    // An image that ships dist/ without src/ runs what it shipped.
    return !existsSync(new URL('../src', import.meta.url)) || built === sourceHash(root)
  } catch {
    return false
  }
}

if (builtFromCurrentSources()) {
  await import('../dist/cli/main.js')
} else {
  let tsx
  try {
    tsx = await import('tsx/esm/api')
  } catch {
    // tsx is a development dependency: an install without it runs dist/ only.
    process.stderr.write(
      'data-feeder: dist/ was not built from the sources in src/ and tsx (a development dependency) is not installed; run `npm run build` (or `npm ci`)\n',
    )
    process.exit(1)
  }
  tsx.register()
  await import('../src/cli/main.ts')
}
