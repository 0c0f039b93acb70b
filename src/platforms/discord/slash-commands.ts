/**
 * The bot's commands as one Discord slash command, `/roomcast`, built from
 * the shared command declarations (their usage grammar), so Discord offers
 * exactly the commands `!roomcast help` lists: `help`, `whoami`,
 * `contact add <name> <magnet>` (a subcommand group), `receipts [n]`, …
 * An invocation turns back into the text line the shared parser reads
 * ('contact add carol magnet:?…'), so both ways of asking behave the same.
 */
import { ApplicationCommandOptionType } from 'discord.js';
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { z } from 'zod';
import type { CommandDeclaration } from '../platform.js';

export const SLASH_COMMAND = 'roomcast';

interface Parsed {
  readonly path: readonly string[];
  readonly args: ReadonlyArray<{ readonly name: string; readonly required: boolean }>;
  readonly description: string;
}

function parseUsage(d: CommandDeclaration): Parsed {
  const words = d.usage.trim().split(/\s+/);
  const path = words.filter((w) => !/^[<[]/.test(w)).map((w) => w.toLowerCase());
  const args = words.filter((w) => /^[<[]/.test(w)).map((w) => ({ name: w.slice(1, -1).toLowerCase(), required: w.startsWith('<') }));
  return { path, args, description: d.description };
}

/** Discord: descriptions 1-100 characters. */
function fit(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 99)}…`;
}

/** The `/roomcast` command's JSON for the bulk overwrite of a guild's commands. */
export function slashCommandBody(declarations: readonly CommandDeclaration[]): RESTPostAPIChatInputApplicationCommandsJSONBody {
  type Sub = { type: ApplicationCommandOptionType.Subcommand; name: string; description: string; options: Array<{ type: ApplicationCommandOptionType.String; name: string; description: string; required: boolean }> };
  const top: Array<Sub | { type: ApplicationCommandOptionType.SubcommandGroup; name: string; description: string; options: Sub[] }> = [];
  for (const p of declarations.map(parseUsage)) {
    const [first, second] = p.path;
    if (!first) continue;
    const sub: Sub = {
      type: ApplicationCommandOptionType.Subcommand,
      name: second ?? first,
      description: fit(p.description),
      options: p.args.map((a) => ({ type: ApplicationCommandOptionType.String, name: a.name, description: fit(`the ${a.name}`), required: a.required })),
    };
    if (second === undefined) {
      top.push(sub);
      continue;
    }
    let group = top.find((o) => o.type === ApplicationCommandOptionType.SubcommandGroup && o.name === first);
    if (!group) {
      group = { type: ApplicationCommandOptionType.SubcommandGroup, name: first, description: fit(`${first} commands`), options: [] };
      top.push(group);
    }
    (group.options as Sub[]).push(sub);
  }
  return { name: SLASH_COMMAND, description: 'roomcast: this room on the decentralised networks', options: top };
}

/** The options tree of a raw INTERACTION_CREATE (subcommand groups, subcommands, values). */
export interface RawOption {
  readonly type: number;
  readonly name: string;
  readonly value?: string | number | boolean | undefined;
  readonly options?: readonly RawOption[] | undefined;
}

export const RawOptionSchema: z.ZodType<RawOption> = z.lazy(() =>
  z.object({
    type: z.number().int(),
    name: z.string().max(32),
    value: z.union([z.string().max(6000), z.number(), z.boolean()]).optional(),
    options: z.array(RawOptionSchema).max(25).optional(),
  }),
);

/**
 * The text line of an invocation of `/roomcast` ('contact add carol
 * magnet:?…'), arguments in their declared order; undefined for a command
 * that is not one of ours.
 */
export function commandLine(options: readonly RawOption[], declarations: readonly CommandDeclaration[]): string | undefined {
  const path: string[] = [];
  let level: readonly RawOption[] = options;
  for (;;) {
    const nested = level.find((o) => o.type === ApplicationCommandOptionType.SubcommandGroup || o.type === ApplicationCommandOptionType.Subcommand);
    if (!nested) break;
    path.push(nested.name);
    level = nested.options ?? [];
  }
  const spec = declarations.map(parseUsage).find((p) => p.path.join(' ') === path.join(' '));
  if (!spec) return undefined;
  const values = spec.args.map((a) => String(level.find((o) => o.name === a.name)?.value ?? '').trim()).filter((v) => v !== '');
  return [...path, ...values].join(' ');
}
