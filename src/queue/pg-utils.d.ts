/**
 * Types for the one node-postgres internal the PGlite pool reuses: the
 * function pg applies to every query parameter before it goes on the wire, so
 * the embedded backend sends exactly what pg would send to a real server.
 */
declare module 'pg/lib/utils.js' {
  const utils: {
    /** null/undefined → null, Buffer → Buffer, arrays → array literal, objects → JSON, the rest → String(). */
    prepareValue(value: unknown): string | Buffer | null;
  };
  export default utils;
}
