#!/usr/bin/env -S node --max-semi-space-size=16
// Entry point: checks the runtime, then runs the TypeScript CLI through tsx so no build step is needed.
// --max-semi-space-size=16 (here, in package.json's scripts and in the Dockerfile): V8 otherwise lets the
// young generation grow to 128 MB of resident memory under the bridge's load; at 32 MB the service bridging
// 1,000 rooms took 250 MB instead of 320-357, at the same throughput (README, Performance).
import { nodeTooOld } from './node-check.js';

const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
