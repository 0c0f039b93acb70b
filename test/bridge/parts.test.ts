/** Cutting long texts: at breaks, within the character and byte limits, nothing lost, in order. */
import { describe, expect, it } from 'vitest';
import { contactContents, splitText } from '../../src/bridge/parts.js';

const LIMITS = { maxContentChars: 100, maxContentBytes: 1000, maxParts: 10 };

/** What the parts say once their "Name: (i/n) " markers are taken off and joined with the breaks they were cut at. */
function body(contents: readonly string[], name: string): string {
  return contents.map((c) => c.replace(new RegExp(`^${name}: \\(\\d+/\\d+\\) `), '')).join(' ');
}

describe('splitText', () => {
  it('cuts at line or word breaks in the second half, else mid-word, dropping only the break', () => {
    expect(splitText('abc def ghi', (p) => p.length <= 7)).toEqual(['abc def', 'ghi']);
    expect(splitText('abc\ndef ghi', (p) => p.length <= 8)).toEqual(['abc\ndef', 'ghi']);
    expect(splitText('x'.repeat(10), (p) => p.length <= 4)).toEqual(['xxxx', 'xxxx', 'xx']);
    expect(splitText('a bcdefghij', (p) => p.length <= 6)).toEqual(['a bcde', 'fghij']); // the only break is too early
    expect(splitText('short', (p) => p.length <= 100)).toEqual(['short']);
    expect(splitText('', (p) => p.length <= 1)).toEqual(['']);
  });

  it('never cuts inside a character', () => {
    const text = '😀'.repeat(9); // each one two UTF-16 units
    const pieces = splitText(text, (p) => p.length <= 5);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(5);
      expect(p).not.toMatch(/[\uD800-\uDBFF]$/); // no lone high surrogate at a cut
    }
  });
});

describe('contactContents', () => {
  it('keeps a message that fits whole, with the writer\'s name', () => {
    expect(contactContents('Bob', 'hello', LIMITS)).toEqual({ ok: true, contents: ['Bob: hello'] });
  });

  it('cuts a long one into marked parts that each fit, in order, losing nothing', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`);
    const r = contactContents('Bob', words.join(' '), LIMITS);
    if (!r.ok) throw new Error('refused');
    expect(r.contents.length).toBeGreaterThan(1);
    r.contents.forEach((c, i) => {
      expect(c.startsWith(`Bob: (${i + 1}/${r.contents.length}) `)).toBe(true);
      expect(c.length).toBeLessThanOrEqual(LIMITS.maxContentChars);
    });
    expect(body(r.contents, 'Bob')).toBe(words.join(' '));
  });

  it('counts encoded bytes too: wide characters make more parts', () => {
    const text = '漢'.repeat(200); // 3 bytes each in UTF-8
    const r = contactContents('Bob', text, { maxContentChars: 1000, maxContentBytes: 150, maxParts: 10 });
    if (!r.ok) throw new Error('refused');
    for (const c of r.contents) expect(Buffer.byteLength(JSON.stringify(c)) - 2).toBeLessThanOrEqual(150);
    expect(r.contents.map((c) => c.replace(/^Bob: \(\d+\/\d+\) /, '')).join('')).toBe(text);
  });

  it('refuses beyond maxParts, saying how many it would take', () => {
    const r = contactContents('Bob', 'x'.repeat(1000), { ...LIMITS, maxParts: 3 });
    expect(r).toEqual({ ok: false, parts: expect.any(Number) });
    expect(r.ok ? 0 : r.parts).toBeGreaterThan(3);
  });
});
