#!/usr/bin/env node
// Entry point: checks the runtime, then runs the TypeScript CLI through tsx so no build step is needed.
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
