/**
 * Platforms: the seam every chat network implements (platform.ts) and the
 * per-room pacing callers use with it (rate-limit.ts). Adapters live in one
 * folder each (memory/, later matrix/ and discord/).
 */
export * from './platform.js';
export * from './rate-limit.js';
