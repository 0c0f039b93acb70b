/**
 * Public API of the fake Matrix homeserver (see fake-homeserver.ts).
 *
 *   const hs = await startFakeHomeserver();
 *   const bot = new MatrixClient(hs.url, token);  // tokens come from POST /register
 *   ...
 *   await hs.close();
 */
export { startFakeHomeserver } from './fake-homeserver.js';
export type { FakeHomeserver, FakeHomeserverOptions, RequestRecord } from './fake-homeserver.js';
export type { Json, JsonObject, MatrixEvent } from './types.js';
