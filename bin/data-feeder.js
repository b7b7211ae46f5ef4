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
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli/main.ts')
}
