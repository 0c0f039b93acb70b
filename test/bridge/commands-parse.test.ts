import { describe, expect, it } from 'vitest';
import { COMMAND_SPECS, parseCommand } from '../../src/bridge/commands/index.js';
import type { Command, ParseResult } from '../../src/bridge/commands/index.js';
import { encodeMagnet, generateIdentity } from '../../src/identity/index.js';

const peer = generateIdentity();
const link = encodeMagnet(peer);

function command(text: string, prefix?: string): Command {
  const r = parseCommand(text, prefix);
  if (!r?.ok) throw new Error(`expected a command from ${JSON.stringify(text)}, got ${JSON.stringify(r)}`);
  return r.command;
}

function error(text: string, prefix?: string): string {
  const r: ParseResult | undefined = parseCommand(text, prefix);
  if (r === undefined || r.ok) throw new Error(`expected an error from ${JSON.stringify(text)}, got ${JSON.stringify(r)}`);
  return r.error;
}

describe('bridge command parsing', () => {
  it('leaves ordinary messages alone', () => {
    for (const text of ['hello', '', '   ', 'I said !roomcast help', '!roomcastle help', '!room help', 'roomcast help']) {
      expect(parseCommand(text)).toBeUndefined();
    }
  });

  it('parses every command without arguments, case-insensitively, with any spacing', () => {
    expect(command('!roomcast help')).toEqual({ kind: 'help' });
    expect(command('!roomcast')).toEqual({ kind: 'help' });
    expect(command('  !RoomCast   HELP  ')).toEqual({ kind: 'help' });
    expect(command('!roomcast help contact')).toEqual({ kind: 'help' });
    expect(command('!roomcast whoami')).toEqual({ kind: 'whoami' });
    expect(command('!roomcast Contacts')).toEqual({ kind: 'contacts' });
    expect(command('!roomcast status\n')).toEqual({ kind: 'status' });
  });

  it('parses contact add with a canonical link and the decoded identity', () => {
    const c = command(`!roomcast contact add alice ${link}`);
    expect(c).toMatchObject({ kind: 'contact-add', name: 'alice', magnetLink: link });
    if (c.kind !== 'contact-add') throw new Error('unreachable');
    expect(c.identity.xOnly).toBe(peer.xOnly);
    expect(c.identity.ethAddress).toBe(peer.ethAddress);
    // Upper-case hex is accepted and stored in canonical form; chat wrappers are removed.
    const upper = link.replace(peer.secp256k1PublicKey, peer.secp256k1PublicKey.toUpperCase());
    expect(command(`!roomcast CONTACT ADD Bob.Smith_2 ${upper}`)).toMatchObject({ name: 'Bob.Smith_2', magnetLink: link });
    expect(command(`!roomcast contact add carol <${link}>`)).toMatchObject({ name: 'carol', magnetLink: link });
    expect(command(`!roomcast contact add dave \`${link}\``)).toMatchObject({ name: 'dave', magnetLink: link });
  });

  it('parses contact remove, receipts and prefs', () => {
    expect(command('!roomcast contact remove alice')).toEqual({ kind: 'contact-remove', name: 'alice' });
    expect(command('!roomcast receipts')).toEqual({ kind: 'receipts', count: 5 });
    expect(command('!roomcast receipts 1')).toEqual({ kind: 'receipts', count: 1 });
    expect(command('!roomcast receipts 50')).toEqual({ kind: 'receipts', count: 50 });
    expect(command('!roomcast prefs a-b_c.d')).toEqual({ kind: 'prefs', name: 'a-b_c.d' });
  });

  it('uses a configured prefix, case-insensitively', () => {
    expect(command('!rc whoami', '!rc')).toEqual({ kind: 'whoami' });
    expect(command('!RC whoami', '!rc')).toEqual({ kind: 'whoami' });
    expect(parseCommand('!roomcast whoami', '!rc')).toBeUndefined();
    expect(error('!rc receipts 0', '!rc')).toContain('Usage: !rc receipts [n]');
    expect(() => parseCommand('x', 'two words')).toThrow(/one word/);
    expect(() => parseCommand('x', '')).toThrow(/one word/);
  });

  it('names what is wrong with a magnet link, and shows the usage', () => {
    const e = error('!roomcast contact add alice magnet:?xt=urn%3Aidentity%3Av1');
    expect(e).toContain('secp256k1pub is missing');
    expect(e).toContain('Usage: !roomcast contact add <name> <magnet>');
    expect(error('!roomcast contact add alice https://example.org')).toContain('link must start with "magnet:?"');
    const badEth = link.replace(/eth=0x[0-9a-fA-F]{40}/, `eth=0x${'1'.repeat(40)}`);
    expect(error(`!roomcast contact add alice ${badEth}`)).toContain('eth does not belong to secp256k1pub');
    const shortKey = link.replace(peer.secp256k1PublicKey, peer.secp256k1PublicKey.slice(0, 100));
    expect(error(`!roomcast contact add alice ${shortKey}`)).toMatch(/secp256k1pub must be 130 hex characters/);
    const noEd = link.replace(/&ed25519pub=[0-9a-f]+/, '');
    expect(error(`!roomcast contact add alice ${noEd}`)).toContain('ed25519pub is missing');
  });

  it('says when the name and the link are swapped or missing', () => {
    expect(error(`!roomcast contact add ${link} alice`)).toContain('the name comes first, then the magnet link');
    expect(error('!roomcast contact add alice')).toBe(
      'contact add needs a name and then a magnet link. Usage: !roomcast contact add <name> <magnet>',
    );
    expect(error(`!roomcast contact add alice ${link} extra`)).toContain('needs a name and then a magnet link');
  });

  it('rejects bad names, saying what a name may contain', () => {
    const rule = "1-32 letters, digits, '-', '_' or '.'";
    for (const name of ['al/ice', 'a'.repeat(33), 'émile', 'bob!', '@alice']) {
      const e = error(`!roomcast contact add ${name} ${link}`);
      expect(e).toContain('is not a valid contact name');
      expect(e).toContain(rule);
    }
    expect(error('!roomcast contact remove a:b')).toContain(rule);
    expect(error('!roomcast prefs x*y')).toContain(rule);
    expect(command(`!roomcast contact add ${'a'.repeat(32)} ${link}`)).toMatchObject({ name: 'a'.repeat(32) });
  });

  it('rejects wrong argument counts with the usage line', () => {
    expect(error('!roomcast contact remove')).toBe('contact remove needs exactly one contact name. Usage: !roomcast contact remove <name>');
    expect(error('!roomcast contact remove alice bob')).toContain('exactly one contact name');
    expect(error('!roomcast prefs')).toBe('prefs needs exactly one contact name. Usage: !roomcast prefs <name>');
    expect(error('!roomcast whoami now')).toBe('"whoami" takes no arguments. Usage: !roomcast whoami');
    expect(error('!roomcast status all')).toContain('Usage: !roomcast status');
    expect(error('!roomcast contacts alice')).toContain('Usage: !roomcast contacts');
  });

  it('says how to use contact without add or remove', () => {
    expect(error('!roomcast contact')).toBe(
      'contact needs "add" or "remove". Usage: !roomcast contact add <name> <magnet> or !roomcast contact remove <name>',
    );
    expect(error('!roomcast contact delete alice')).toContain('not "delete"');
  });

  it('rejects bad receipt counts', () => {
    for (const n of ['0', '51', '-1', '2.5', 'five', '1e1', '9999']) {
      expect(error(`!roomcast receipts ${n}`)).toBe(`n must be a whole number from 1 to 50, got "${n}". Usage: !roomcast receipts [n]`);
    }
    expect(error('!roomcast receipts 3 4')).toContain('got "3 4"');
  });

  it('answers unknown commands with the list and a near match', () => {
    const e = error('!roomcast contcts');
    expect(e).toContain('unknown command "contcts"');
    expect(e).toContain('Did you mean "!roomcast contacts"?');
    expect(e).toContain('Commands: help, whoami, contact, contacts, status, receipts, prefs.');
    expect(e).toContain('Send "!roomcast help"');
    expect(error('!roomcast launch-missiles')).not.toContain('Did you mean');
  });

  it('has a spec for every command kind', () => {
    expect(COMMAND_SPECS.map((s) => s.kind)).toEqual(['help', 'whoami', 'contact-add', 'contact-remove', 'contacts', 'status', 'receipts', 'prefs']);
    expect(COMMAND_SPECS.filter((s) => s.moderatorOnly).map((s) => s.kind)).toEqual(['contact-add', 'contact-remove']);
  });
});
