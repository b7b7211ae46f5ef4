/**
 * `node --import ./bench/module-probe.mjs …` with DF_MODULE_LOG=<file>: every
 * ESM module URL the process resolves is appended to that file, so a bench can
 * show which packages (e.g. @electric-sql/pglite) a real run loaded. Plain JS
 * so it runs before tsx is registered. Only for the probe runs, never the RSS ones.
 */
import { appendFileSync } from 'node:fs'
import { register } from 'node:module'

let file = process.env.DF_MODULE_LOG

/** Loader-thread hook: record what resolved. */
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  if (file) appendFileSync(file, `${r.url}\n`)
  return r
}

export function initialize(data) {
  file = data?.file
}

if (process.env.DF_MODULE_LOG && typeof register === 'function' && !globalThis.__dfProbe) {
  globalThis.__dfProbe = true
  register(import.meta.url, { data: { file: process.env.DF_MODULE_LOG } })
}
