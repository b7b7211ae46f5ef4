/**
 * The value types of the environment variables, as zod schemas: text in,
 * typed value out, with the message a wrong value gets. config.ts names the
 * variables and their defaults.
 */
import { z } from 'zod'

export interface Field<T> {
  readonly schema: z.ZodType<T>
  readonly example: string
}

export const int = (min: number, max: number): z.ZodType<number> =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))

export const bool: z.ZodType<boolean> = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

export const url = (protocols: readonly string[]): z.ZodType<string> =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol)
        } catch {
          return false
        }
      },
      `must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL`,
    )
    .transform((v) => v.replace(/\/+$/, ''))

const INTERVAL_UNITS: Readonly<Record<string, string>> = {
  minute: 'minutes',
  minutes: 'minutes',
  min: 'minutes',
  mins: 'minutes',
  hour: 'hours',
  hours: 'hours',
  h: 'hours',
  day: 'days',
  days: 'days',
  d: 'days',
  week: 'weeks',
  weeks: 'weeks',
  w: 'weeks',
  month: 'months',
  months: 'months',
  mon: 'months',
  year: 'years',
  years: 'years',
  y: 'years',
}

/**
 * A positive PostgreSQL interval of one unit ('7 days', '12 hours', '1 year'),
 * returned in canonical form. `units` limits the accepted units (chunks are fixed-length).
 */
export const interval = (units: readonly string[]): z.ZodType<string> =>
  z
    .string()
    .trim()
    .toLowerCase()
    .transform((v) => {
      const m = /^(\d{1,6})\s*([a-z]+)$/.exec(v)
      const unit = m ? INTERVAL_UNITS[m[2] as string] : undefined
      return m && unit !== undefined && units.includes(unit) && Number(m[1]) > 0
        ? `${Number(m[1])} ${unit}`
        : ''
    })
    .refine((v) => v !== '', `must be a positive interval such as '7 days' (units: ${units.join(', ')})`)

export const ALL_UNITS = ['minutes', 'hours', 'days', 'weeks', 'months', 'years'] as const
export const retention: z.ZodType<string | null> = z.union([
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => v === 'off' || v === 'none')
    .transform(() => null),
  interval(ALL_UNITS),
])
