import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/common/backoff.js';

describe('backoffDelay', () => {
  it('doubles from min, capped at max, from attempt 0', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(-1, 100, 1000)).toBe(100);
    expect(backoffDelay(1e9, 1, 5000)).toBe(5000); // no overflow to Infinity × 0 or NaN
  });
});
