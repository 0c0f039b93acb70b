/**
 * The `roomcast` command line. Parsing is commander's; each command lives in
 * its own module and returns an exit code. Errors are printed as one line
 * ("roomcast: …") without stack traces or secrets.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import { KeyFileError } from '../identity/key-file.js';
import { MagnetLinkError } from '../identity/magnet.js';
import { MessageTooLargeError } from '../broadcaster/broadcaster.js';
import { identityNew, identityShow } from './identity-commands.js';
import { chat } from './chat.js';
import { listen, send } from './messaging.js';
import { relay } from './relay.js';
import { startService } from './service.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Options every networked command shares. */
function withNodeOptions(cmd: Command): Command {
  return cmd
    .option('--mqtt <url>', 'MQTT broker URL (repeatable; replaces the configured endpoints)', collect)
    .option('--nostr <url>', 'Nostr relay URL (repeatable; replaces the configured endpoints)', collect)
    .option('--xmtp', 'use XMTP too when --mqtt/--nostr name the endpoints (XMTP has none to name)')
    .option('--data-dir <dir>', 'data directory (database, transport state); env ROOMCAST_DATA_DIR')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent; env ROOMCAST_LOG_LEVEL');
}

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command('roomcast')
    .description('Bridge chat rooms to Nostr, XMTP and MQTT; talk to magnet-link identities from the terminal.')
    .version('0.1.0')
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) })
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
    .action(async (file: string, o: { json: boolean; magnet: boolean }) => identityShow(file, o, out));

  withNodeOptions(
    program
      .command('send')
      .description('send one message to a magnet link on every transport; exit 0 only if at least one delivered')
      .requiredOption('--identity <file>', 'your key file')
      .requiredOption('--to <magnet>', "the recipient's magnet link")
      .addOption(new Option('--wait-ack <seconds>', 'wait this long for acknowledgments and print them').argParser(parseSeconds))
      .option('--json', 'print JSON lines instead of text', false)
      .argument('<text...>', 'the message'),
  ).action(async (text: string[], o) => send(text.join(' '), o, out));

  withNodeOptions(
    program
      .command('listen')
      .description('print each new message as it arrives (JSON lines with --json) and acknowledge it')
      .requiredOption('--identity <file>', 'your key file')
      .option('--json', 'print one JSON line per message', false)
      .addOption(new Option('--count <n>', 'exit after n new messages').argParser(parsePositiveInt)),
  ).action(async (o) => listen(o, out));

  withNodeOptions(
    program
      .command('chat')
      .description('interactive chat with one magnet link: type a line to send it')
      .requiredOption('--identity <file>', 'your key file')
      .requiredOption('--to <magnet>', "the other side's magnet link"),
  ).action(async (o) => chat(o, out));

  program
    .command('relay')
    .description('run a local Nostr relay in memory, for trying roomcast without internet')
    .addOption(new Option('--port <port>', 'TCP port').default(7777).argParser(parsePort))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action(async (o: { port: number; host: string }) => relay(o, out));

  withNodeOptions(
    program
      .command('start')
      .description('run the service: the bridge, its queue workers, and the service identity on every transport'),
  ).action(async (o) => startService(o, out, 'all'));

  withNodeOptions(
    program
      .command('worker')
      .description('run only the queue workers (needs Redis: REDIS_URL); run several to share the work'),
  ).action(async (o) => startService(o, out, 'worker'));

  return program;
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new CommanderError(2, 'roomcast.invalidArgument', `--wait-ack must be a number of seconds between 0 and 3600, got "${v}"`);
  return n;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CommanderError(2, 'roomcast.invalidArgument', `--port must be a TCP port (0-65535), got "${v}"`);
  return n;
}

function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CommanderError(2, 'roomcast.invalidArgument', `--count must be a positive whole number, got "${v}"`);
  return n;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    const code = process.exitCode;
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      if (err.code === 'roomcast.invalidArgument') process.stderr.write(`roomcast: ${err.message}\n`);
      return err.exitCode || 2;
    }
    if (err instanceof ConfigError || err instanceof KeyFileError || err instanceof MagnetLinkError || err instanceof MessageTooLargeError) {
      process.stderr.write(`roomcast: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`roomcast: unexpected error: ${(err as Error).message}\n`);
    return 1;
  }
}
