/**
 * The `roomcast` command line. Parsing is commander's; each command lives in
 * its own module. Errors are printed as one line ("roomcast: …") without
 * stack traces or secrets, and map to the exit statuses of exit-codes.ts
 * (0 success, 1 the world said no, 2 the command was wrong).
 */
import { Command, CommanderError, Option } from 'commander';
import { identityNew, identityShow } from './identity-commands.js';
import { chat } from './chat.js';
import { classifyError, EXIT } from './exit-codes.js';
import { listen, send } from './messaging.js';
import { relay } from './relay.js';
import { startService } from './service.js';
import { status } from './status.js';
import { doctor } from './doctor.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Options every networked command shares. */
function withNodeOptions(cmd: Command): Command {
  return cmd
    .option('--mqtt <url>', 'MQTT broker URL (repeatable; replaces the configured endpoints)', collect)
    .option('--nostr <url>', 'Nostr relay URL (repeatable; replaces the configured endpoints)', collect)
    .option('--xmtp', 'use XMTP too when --mqtt/--nostr name the endpoints (XMTP has none to name)')
    .option('--data-dir <dir>', 'data directory (database, transport state); env ROOMCAST_DATA_DIR')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent; env ROOMCAST_LOG_LEVEL')
    .option('--log-format <format>', 'auto|json|pretty (auto: pretty on a terminal, else JSON); env ROOMCAST_LOG_FORMAT');
}

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): Command {
  const program = new Command('roomcast')
    .description('Bridge chat rooms to Nostr, XMTP and MQTT; talk to magnet-link identities from the terminal.')
    .version('0.1.0')
    .configureOutput({
      writeOut: out,
      writeErr: err,
      // commander's "error: unknown option '--x'" in our one-line form.
      outputError: (text, write) => write(`roomcast: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(run "roomcast --help" for usage)')
    .exitOverride();

  const identity = program.command('identity').description('create and inspect identity key files');
  identity
    .command('new')
    .description('create a new identity (secp256k1 + ed25519) and write its key file with mode 0600')
    .requiredOption('--out <file>', 'where to write the key file')
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print the public identity as JSON', false)
    .action(async (o: { out: string; force: boolean; json: boolean }) => identityNew(o, out));
  identity
    .command('show')
    .description('print the magnet link, Ethereum address and npub of a key file')
    .argument('<file>', 'key file')
    .option('--json', 'print as JSON', false)
    .option('--magnet', 'print only the magnet link (for scripts)', false)
    .action(async (file: string, o: { json: boolean; magnet: boolean }) => identityShow(file, o, out, err));

  withNodeOptions(
    program
      .command('send')
      .description('send one message to a magnet link on every transport; exit 0 only if at least one delivered')
      .requiredOption('--identity <file>', 'your key file')
      .requiredOption('--to <magnet>', "the recipient's magnet link")
      .addOption(new Option('--wait-ack <seconds>', "wait this long for this message's acknowledgments and print them").argParser(parseSeconds))
      .option('--json', 'print JSON lines instead of text', false)
      .argument('<text...>', 'the message'),
  ).action(async (text: string[], o) => send(text.join(' '), o, out));

  withNodeOptions(
    program
      .command('listen')
      .description('print each new message as it arrives (JSON lines with --json, after a "ready" line) and acknowledge it')
      .requiredOption('--identity <file>', 'your key file')
      .option('--json', 'print a ready line, then one JSON line per message', false)
      .addOption(new Option('--count <n>', 'print n new messages, then exit').argParser(parsePositiveInt)),
  ).action(async (o) => listen(o, out, err));

  withNodeOptions(
    program
      .command('chat')
      .description('interactive chat with one magnet link: type a line to send it; /help for commands')
      .requiredOption('--identity <file>', 'your key file')
      .requiredOption('--to <magnet>', "the other side's magnet link")
      .option('--name <name>', "how to show the other side (default: the link's dn=, else a short npub)"),
  ).action(async (o) => chat(o));

  program
    .command('relay')
    .description('run a local Nostr relay in memory, for trying roomcast without internet')
    .addOption(new Option('--port <port>', 'TCP port').default(7777).argParser(parsePort))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action(async (o: { port: number; host: string }) => relay(o, out));

  withNodeOptions(
    program
      .command('start')
      .description('run the service: the bridge, its queue workers, and the service identity on every transport')
      .addHelpText(
        'after',
        '\nChat platforms come from the config file and the environment. Matrix rooms are bridged when\n' +
          'ROOMCAST_MATRIX_HOMESERVER_URL and ROOMCAST_MATRIX_ACCESS_TOKEN (or ..._TOKEN_FILE) are set;\n' +
          'Discord channels when ROOMCAST_DISCORD_TOKEN (or ..._TOKEN_FILE) is set (a Discord-compatible\n' +
          'server: ROOMCAST_DISCORD_API_URL).',
      ),
  ).action(async (o) => startService(o, out, 'all'));

  withNodeOptions(
    program
      .command('worker')
      .description('run only the queue workers (needs Redis: REDIS_URL); run several to share the work'),
  ).action(async (o) => startService(o, out, 'worker'));

  program
    .command('status')
    .description("the running service's overview (rooms, platforms, networks, queues, recent messages), from its HTTP API")
    .option('--url <url>', 'the service\'s HTTP address (default: from the config, http://127.0.0.1:8470)')
    .option('--json', 'the report as JSON')
    .option('--data-dir <dir>', 'data directory (where the generated access token is kept); env ROOMCAST_DATA_DIR')
    .action(async (o) => status(o, out));

  withNodeOptions(
    program
      .command('doctor')
      .description('check the config, store, queue, every broker and relay, platform credentials and the HTTP port; exit 1 when something needed is broken'),
  ).action(async (o) => {
    process.exitCode = await doctor(o, out);
  });

  return program;
}

function invalid(message: string): CommanderError {
  return new CommanderError(EXIT.usage, 'roomcast.invalidArgument', message);
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 3600) throw invalid(`--wait-ack must be a number of seconds between 0 and 3600, got "${v}"`);
  return n;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw invalid(`--port must be a TCP port (0-65535), got "${v}"`);
  return n;
}

function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalid(`--count must be a positive whole number, got "${v}"`);
  return n;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const program = buildProgram(undefined, err);
  try {
    await program.parseAsync([...argv]);
    const code = process.exitCode;
    return typeof code === 'number' ? code : EXIT.ok;
  } catch (e) {
    // Our own argument parsers' messages; commander printed its own errors already.
    if (e instanceof CommanderError && e.code === 'roomcast.invalidArgument') err(`roomcast: ${e.message}\n`);
    const { code, line } = classifyError(e);
    if (line !== undefined) err(`roomcast: ${line}\n`);
    return code;
  }
}
