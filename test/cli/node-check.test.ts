/** The entry point refuses a Node older than 22 with a message that says what to do. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR, nodeTooOld } from '../../bin/node-check.js';

const BIN = new URL('../../bin/roomcast.js', import.meta.url).pathname;

describe('node version check', () => {
  it('accepts 22 and newer, refuses older with the fix', () => {
    expect(MIN_NODE_MAJOR).toBe(22);
    expect(nodeTooOld('22.0.0')).toBeUndefined();
    expect(nodeTooOld('24.22.3')).toBeUndefined();
    expect(nodeTooOld('26.1.0')).toBeUndefined();
    const msg = nodeTooOld('20.20.2');
    expect(msg).toContain('Node.js 22 or newer');
    expect(msg).toContain('this is Node.js 20.20.2');
    expect(msg).toContain('. scripts/use-node.sh');
    expect(nodeTooOld('garbage')).toContain('this is Node.js garbage');
  });

  it('the test runner itself is on a supported Node', () => {
    expect(nodeTooOld(process.versions.node)).toBeUndefined();
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
