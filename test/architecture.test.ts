/**
 * The seams as DESIGN.md draws them, checked from the imports alone: the
 * store knows no transport, the bridge neither the wiring (node.ts) nor the
 * terminal client (cli/), and shared code never tells networks apart by name.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `file:line: text` of every line of the .ts files under `dir` that matches `pattern`. */
function grep(dir: string, pattern: RegExp): string[] {
  return files(join(SRC, dir)).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${relative(SRC, f)}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe('architecture', () => {
  it('the store imports nothing from the transports', () => {
    expect(grep('store', /from '\.\.\/transports/)).toEqual([]);
  });

  it('the bridge imports neither node.ts nor cli/', () => {
    expect(grep('bridge', /from '(\.\.\/)+(node|cli\/)/)).toEqual([]);
  });

  it('no shared code compares against a network name', () => {
    const shared = ['bridge', 'broadcaster', 'store', 'queue', 'cli', 'text', 'common', 'platforms', 'observability'];
    expect(shared.flatMap((d) => grep(d, /[!=]== '(xmtp|mqtt|nostr)'/))).toEqual([]);
  });
});
