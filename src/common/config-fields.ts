/** Small zod building blocks the config sections share. */
import { z } from 'zod';

/** A whole number of milliseconds within [min, max]. */
export const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** A config section that, when absent, takes its own defaults (what parsing `{}` gives). */
export function withOwnDefaults<S extends z.ZodType>(schema: S): z.ZodDefault<S> {
  return schema.default(() => schema.parse({}) as z.util.NoUndefined<z.output<S>>);
}
