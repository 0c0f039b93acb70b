/**
 * Bot commands, parsed once for every platform: `!roomcast <command> …`.
 *
 * Parsing is pure and total: it never throws for what a person typed. It
 * answers "not a command" (undefined), a checked command, or an error that
 * says what is wrong and how to fix it, usage line included. Arguments are
 * checked here (names, magnet links, counts), so the handler only ever sees
 * valid commands. Who may run a command is the handler's business.
 */
import { decodeMagnet, encodeMagnet, MagnetLinkError } from '../../identity/magnet.js';
import type { PublicIdentity } from '../../identity/keys.js';

export const DEFAULT_COMMAND_PREFIX = '!roomcast';
export const DEFAULT_RECEIPTS = 5;
export const MAX_RECEIPTS = 50;
export const MAX_NAME_LENGTH = 32;
const NAME = /^[A-Za-z0-9._-]{1,32}$/;
/** The rule as people read it, for errors and help. */
export const NAME_RULE = `1-${MAX_NAME_LENGTH} letters, digits, '-', '_' or '.'`;

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'whoami' }
  /** `magnetLink` is the canonical form of the link given (encodeMagnet of `identity`). */
  | { readonly kind: 'contact-add'; readonly name: string; readonly magnetLink: string; readonly identity: PublicIdentity }
  | { readonly kind: 'contact-remove'; readonly name: string }
  | { readonly kind: 'contacts' }
  | { readonly kind: 'status' }
  | { readonly kind: 'receipts'; readonly count: number }
  | { readonly kind: 'prefs'; readonly name: string };

export type CommandKind = Command['kind'];

export type ParseResult = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: string };

export interface CommandSpec {
  readonly kind: CommandKind;
  /** Without the prefix, e.g. 'contact add <name> <magnet>'. */
  readonly usage: string;
  readonly description: string;
  /** Changes something, so only room moderators may run it. */
  readonly moderatorOnly: boolean;
}

/** Every command, in the order `help` lists them. */
export const COMMAND_SPECS: readonly CommandSpec[] = [
  { kind: 'help', usage: 'help', description: 'this list', moderatorOnly: false },
  { kind: 'whoami', usage: 'whoami', description: "this room's magnet link, to give to contacts", moderatorOnly: false },
  { kind: 'contact-add', usage: 'contact add <name> <magnet>', description: 'add a contact, or change the link of one', moderatorOnly: true },
  { kind: 'contact-remove', usage: 'contact remove <name>', description: 'remove a contact', moderatorOnly: true },
  { kind: 'contacts', usage: 'contacts', description: "this room's contacts", moderatorOnly: false },
  { kind: 'status', usage: 'status', description: 'each transport’s endpoints up/down, queue depths', moderatorOnly: false },
  { kind: 'receipts', usage: 'receipts [n]', description: `receipts and acks of the last n sent messages (1-${MAX_RECEIPTS}, default ${DEFAULT_RECEIPTS})`, moderatorOnly: false },
  { kind: 'prefs', usage: 'prefs <name>', description: "a contact's learned channel preferences", moderatorOnly: false },
];

export function specOf(kind: CommandKind): CommandSpec {
  const spec = COMMAND_SPECS.find((s) => s.kind === kind);
  if (!spec) throw new Error(`no spec for command ${kind}`);
  return spec;
}

/** "Usage: !roomcast contact add <name> <magnet>". */
export function usageOf(kind: CommandKind, prefix: string): string {
  return `Usage: ${prefix} ${specOf(kind).usage}`;
}

/**
 * Parses a message. `prefix` (default `!roomcast`) must be the first word,
 * matched case-insensitively, as are command words; a bare prefix means
 * `help`. Returns undefined when the text is not addressed to the bot.
 */
export function parseCommand(text: string, prefix: string = DEFAULT_COMMAND_PREFIX): ParseResult | undefined {
  if (prefix.length === 0 || /\s/.test(prefix)) throw new Error(`command prefix must be one word, got "${prefix}"`);
  const words = text.trim().split(/\s+/);
  if (words[0]?.toLowerCase() !== prefix.toLowerCase()) return undefined;
  const [word, ...args] = words.slice(1);
  if (word === undefined) return ok({ kind: 'help' });
  const fail = (problem: string, kind: CommandKind): ParseResult => ({ ok: false, error: `${problem} ${usageOf(kind, prefix)}` });
  const noArgs = (kind: 'whoami' | 'contacts' | 'status'): ParseResult =>
    args.length === 0 ? ok({ kind }) : fail(`"${specOf(kind).usage}" takes no arguments.`, kind);

  switch (word.toLowerCase()) {
    case 'help':
      return ok({ kind: 'help' }); // extra words are ignored: asking for help never fails
    case 'whoami':
      return noArgs('whoami');
    case 'contacts':
      return noArgs('contacts');
    case 'status':
      return noArgs('status');
    case 'contact':
      return parseContact(args, prefix, fail);
    case 'receipts':
      return parseReceipts(args, fail);
    case 'prefs': {
      if (args.length !== 1) return fail('prefs needs exactly one contact name.', 'prefs');
      const bad = nameProblem(args[0] ?? '');
      return bad ? fail(bad, 'prefs') : ok({ kind: 'prefs', name: args[0] ?? '' });
    }
    default:
      return { ok: false, error: unknownCommand(word, prefix) };
  }
}

type Fail = (problem: string, kind: CommandKind) => ParseResult;

function parseContact(args: readonly string[], prefix: string, fail: Fail): ParseResult {
  const [sub, ...rest] = args;
  switch (sub?.toLowerCase()) {
    case 'add': {
      if (rest.length !== 2) return fail('contact add needs a name and then a magnet link.', 'contact-add');
      const [name = '', rawLink = ''] = rest;
      if (isMagnetLike(name) && !isMagnetLike(rawLink)) {
        return fail('the name comes first, then the magnet link.', 'contact-add');
      }
      const bad = nameProblem(name);
      if (bad) return fail(bad, 'contact-add');
      const link = unwrap(rawLink);
      try {
        const identity = decodeMagnet(link);
        return ok({ kind: 'contact-add', name, magnetLink: encodeMagnet(identity), identity });
      } catch (err) {
        if (!(err instanceof MagnetLinkError)) throw err;
        return fail(`${err.message}. Ask the contact for their whole link (it starts with magnet:?xt=urn%3Aidentity%3Av1).`, 'contact-add');
      }
    }
    case 'remove': {
      if (rest.length !== 1) return fail('contact remove needs exactly one contact name.', 'contact-remove');
      const name = rest[0] ?? '';
      const bad = nameProblem(name);
      return bad ? fail(bad, 'contact-remove') : ok({ kind: 'contact-remove', name });
    }
    default:
      return {
        ok: false,
        error: `contact needs "add" or "remove"${sub === undefined ? '' : `, not "${clip(sub)}"`}. ${usageOf('contact-add', prefix)} or ${prefix} ${specOf('contact-remove').usage}`,
      };
  }
}

function parseReceipts(args: readonly string[], fail: Fail): ParseResult {
  if (args.length === 0) return ok({ kind: 'receipts', count: DEFAULT_RECEIPTS });
  const [raw = ''] = args;
  const count = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
  if (args.length > 1 || !(count >= 1 && count <= MAX_RECEIPTS)) {
    return fail(`n must be a whole number from 1 to ${MAX_RECEIPTS}, got "${clip(args.join(' '))}".`, 'receipts');
  }
  return ok({ kind: 'receipts', count });
}

/** What is wrong with a contact name, or undefined when it is fine. */
export function nameProblem(name: string): string | undefined {
  if (NAME.test(name)) return undefined;
  return `"${clip(name)}" is not a valid contact name: use ${NAME_RULE}.`;
}

/** Chat clients wrap links: `<link>` (Discord, no preview) or `` `link` `` (code). */
function unwrap(link: string): string {
  const m = /^(?:<(.*)>|`(.*)`)$/.exec(link);
  return m ? (m[1] ?? m[2] ?? '') : link;
}

function isMagnetLike(s: string): boolean {
  return /^[<`]?magnet:/i.test(s);
}

function unknownCommand(word: string, prefix: string): string {
  const words = [...new Set(COMMAND_SPECS.map((s) => s.usage.split(' ')[0] ?? ''))];
  let near: string | undefined;
  let best = 3; // at most two edits away
  for (const w of words) {
    const d = editDistance(w, word.toLowerCase());
    if (d < best) [near, best] = [w, d];
  }
  const hint = near ? ` Did you mean "${prefix} ${near}"?` : '';
  return `unknown command "${clip(word)}".${hint} Commands: ${words.join(', ')}. Send "${prefix} help" for what each does.`;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function ok(command: Command): ParseResult {
  return { ok: true, command };
}
