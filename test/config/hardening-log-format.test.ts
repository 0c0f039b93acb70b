/**
 * The logFormat setting: JSON lines for machines, one readable line for
 * people, `auto` choosing by whether stderr is a terminal. Both formats go
 * through pino, so redaction holds in both.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLine, resolveLogFormat } from '../../src/observability/logger.js';

function collector(isTTY: boolean): { write(line: string): void; readonly isTTY: boolean; lines: string[] } {
  const lines: string[] = [];
  return { isTTY, lines, write: (line: string) => void lines.push(line) };
}

describe('log format', () => {
  it('auto is pretty on a terminal and JSON otherwise', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('auto', undefined)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('json: one JSON object per line', () => {
    const out = collector(false);
    createLogger('info', 'roomcast', { format: 'auto', stream: out }).warn({ endpoint: 'mqtt://b:1' }, 'mqtt broker unreachable');
    expect(out.lines).toHaveLength(1);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 40, name: 'roomcast', endpoint: 'mqtt://b:1', msg: 'mqtt broker unreachable' });
  });

  it('pretty: time, level, message and fields on one line; secrets still redacted', () => {
    const out = collector(true);
    const log = createLogger('info', 'roomcast', { format: 'pretty', stream: { write: out.write } });
    log.warn({ endpoint: 'mqtt://b:1', store: { authToken: 's3cret' }, note: 'two words' }, 'mqtt broker unreachable');
    log.debug('not shown at info');
    expect(out.lines).toHaveLength(1);
    const line = out.lines[0]!;
    expect(line).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} WARN  mqtt broker unreachable endpoint=mqtt:\/\/b:1 store=\{"authToken":"\[redacted\]"\} note="two words"\n$/);
    expect(line).not.toContain('s3cret');
    expect(() => JSON.parse(line)).toThrow();
  });

  it('prettyLine shows an error by its message and passes non-JSON through', () => {
    const line = prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n at x' } }));
    expect(line).toMatch(/ERROR failed err="boom"\n$/);
    expect(line).not.toContain('at x');
    expect(prettyLine('plain text\n')).toBe('plain text\n');
  });
});
