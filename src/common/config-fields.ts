/** Small zod building blocks the config sections share. */
import { z } from 'zod';

/** A whole number of milliseconds within [min, max]. */
export const ms = (min: number, max: number) => z.number().int().min(min).max(max);
