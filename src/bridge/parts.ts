/**
 * Long texts in parts. A room message longer than a ChatMessage may carry
 * (`limits.maxContentChars`, and `limits.maxMessageBytes` once encoded) goes
 * to contacts as several messages, "Bob: (1/3) …", "Bob: (2/3) …", cut at
 * line or word breaks, sent in order. Contacts' messages posted into a room
 * are cut the same way to the platform's message size.
 */

/**
 * Cuts `text` into pieces for which `fits` holds, at a line break or a space
 * where one lies in the second half of the piece (else mid-word), never
 * inside a character (surrogate pairs stay whole). The break itself is
 * dropped; nothing else is lost. `fits` must hold for any single character.
 */
export function splitText(text: string, fits: (piece: string) => boolean): string[] {
  const out: string[] = [];
  let rest = Array.from(text);
  while (rest.length > 0 && !fits(rest.join(''))) {
    // The longest prefix that fits (fits is monotonic in length for our predicates).
    let lo = 1;
    let hi = rest.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(rest.slice(0, mid).join(''))) lo = mid;
      else hi = mid - 1;
    }
    const window = rest.slice(0, lo);
    let cut = lo;
    for (let i = lo - 1; i > lo / 2; i--) {
      if (window[i] === '\n' || window[i] === ' ') {
        cut = i;
        break;
      }
    }
    out.push(rest.slice(0, cut).join(''));
    rest = rest.slice(cut);
    if (rest[0] === '\n' || rest[0] === ' ') rest = rest.slice(1);
  }
  if (rest.length > 0 || out.length === 0) out.push(rest.join(''));
  return out;
}

export interface PartLimits {
  /** Longest ChatMessage content (characters). */
  readonly maxContentChars: number;
  /** Most bytes the content may take inside the encoded ChatMessage JSON (the rest of the JSON excluded). */
  readonly maxContentBytes: number;
  /** Most parts one room message may become. */
  readonly maxParts: number;
}

export type Parts = { readonly ok: true; readonly contents: readonly string[] } | { readonly ok: false; readonly parts: number };

/** Room messages split into at most 99 parts: the marker "(nn/nn) " is then at most 8 characters. */
const MARKER_RESERVE = '(99/99) '.length;

/**
 * The contents a contact receives for `senderName` writing `text`: one
 * "Name: text", or "Name: (i/n) …" parts that each fit the limits. Refused
 * (ok: false, with the part count it would take) beyond `maxParts`.
 */
export function contactContents(senderName: string, text: string, limits: PartLimits): Parts {
  const whole = `${senderName}: ${text}`;
  if (fitsContent(whole, limits)) return { ok: true, contents: [whole] };
  const prefix = `${senderName}: `;
  const reserve = prefix + ' '.repeat(MARKER_RESERVE);
  const pieces = splitText(text, (piece) => fitsContent(reserve + piece, limits));
  if (pieces.length > Math.min(limits.maxParts, 99)) return { ok: false, parts: pieces.length };
  return { ok: true, contents: pieces.map((p, i) => `${prefix}(${i + 1}/${pieces.length}) ${p}`) };
}

function fitsContent(content: string, limits: PartLimits): boolean {
  // JSON escapes (quotes, control characters) count, as the encoded message is what is limited.
  return content.length <= limits.maxContentChars && Buffer.byteLength(JSON.stringify(content)) - 2 <= limits.maxContentBytes;
}
