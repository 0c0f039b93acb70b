/**
 * Discord's text rules (no working mention, webhook names, nonces, custom
 * emoji for contacts) and the /roomcast command built from the shared
 * command declarations, and back.
 */
import { describe, expect, it } from 'vitest';
import { COMMAND_SPECS, parseCommand } from '../../src/bridge/commands/index.js';
import { commandLine, slashCommandBody } from '../../src/platforms/discord/slash-commands.js';
import type { RawOption } from '../../src/platforms/discord/slash-commands.js';
import { escapeMarkdown, neutraliseMentions, nonceOf, readableText, webhookName } from '../../src/platforms/discord/text.js';

const declarations = COMMAND_SPECS.map(({ usage, description }) => ({ usage, description }));

describe('Discord text rules', () => {
  it('breaks every mention form with a zero-width joiner after each @', () => {
    expect(neutraliseMentions('@everyone @here <@123> <@!123> <@&456> mail@example.org')).toBe(
      '@\u200deveryone @\u200dhere <@\u200d123> <@\u200d!123> <@\u200d&456> mail@\u200dexample.org',
    );
  });

  it('makes webhook names Discord accepts', () => {
    expect(webhookName('Clyde')).toBe('C1yde');
    expect(webhookName('DISCORD fan club')).toBe('DISC0RD fan club');
    expect(webhookName('  \n ')).toBe('contact');
    expect([...webhookName('é'.repeat(90))]).toHaveLength(80);
  });

  it('derives a nonce of at most 25 characters, the same for the same key', () => {
    expect(nonceOf('room|k1')).toHaveLength(25);
    expect(nonceOf('room|k1')).toBe(nonceOf('room|k1'));
    expect(nonceOf('room|k1')).not.toBe(nonceOf('room|k2'));
  });

  it('shows custom emoji by name and escapes markdown in a bold name', () => {
    expect(readableText('nice <:party_parrot:123456789012345678> <a:dance:1>')).toBe('nice :party_parrot: :dance:');
    expect(escapeMarkdown('a*b_c~d`e|f>g\\h')).toBe('a\\*b\\_c\\~d\\`e\\|f\\>g\\\\h');
  });
});

describe('/roomcast from the shared commands', () => {
  const body = slashCommandBody(declarations);
  const names = (body.options ?? []).map((o) => o.name);

  it('offers every command: groups for two-word commands, string options in order, optional ones optional', () => {
    expect(body.name).toBe('roomcast');
    expect(names).toEqual(['help', 'whoami', 'contact', 'contacts', 'status', 'receipts', 'prefs']);
    const contact = body.options!.find((o) => o.name === 'contact') as { type: number; options: Array<{ name: string; options: Array<{ name: string; required: boolean }> }> };
    expect(contact.type).toBe(2);
    expect(contact.options.map((o) => o.name)).toEqual(['add', 'remove']);
    expect(contact.options[0]!.options.map((o) => [o.name, o.required])).toEqual([['name', true], ['magnet', true]]);
    const receipts = body.options!.find((o) => o.name === 'receipts') as { options: Array<{ name: string; required: boolean }> };
    expect(receipts.options).toMatchObject([{ name: 'n', required: false }]);
    for (const o of body.options!) expect(o.description.length).toBeLessThanOrEqual(100);
  });

  it('turns an invocation back into the line the shared parser reads', () => {
    const add: RawOption[] = [{ type: 2, name: 'contact', options: [{ type: 1, name: 'add', options: [{ type: 3, name: 'magnet', value: ' magnet:?x ' }, { type: 3, name: 'name', value: 'carol' }] }] }];
    expect(commandLine(add, declarations)).toBe('contact add carol magnet:?x');
    expect(commandLine([{ type: 1, name: 'receipts' }], declarations)).toBe('receipts');
    expect(commandLine([{ type: 1, name: 'receipts', options: [{ type: 3, name: 'n', value: '7' }] }], declarations)).toBe('receipts 7');
    expect(commandLine([{ type: 1, name: 'nonsense' }], declarations)).toBeUndefined();
    expect(parseCommand(`!roomcast ${commandLine([{ type: 1, name: 'receipts', options: [{ type: 3, name: 'n', value: '7' }] }], declarations)}`)).toMatchObject({ ok: true, command: { kind: 'receipts', count: 7 } });
  });
});
