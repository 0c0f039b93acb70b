/**
 * What the CLI's exit status means, and which error gets which status and
 * which one line on stderr. The README's exit-status table is tested to be
 * EXIT_STATUS_TABLE, so the documentation and the code cannot drift.
 *
 * - 0: success.
 * - 1: the command was right but the world said no: nothing delivered, a port
 *   or the embedded queue already in use, a store that cannot be opened, or
 *   an error nobody foresaw (then the line says "unexpected error").
 * - 2: the command was wrong: usage (unknown command or flag, a missing or
 *   bad argument, no command at all), configuration, key file, magnet link,
 *   message too long, or a service identity refused for the store's rooms.
 */
import { CommanderError } from 'commander';
import { MessageTooLargeError } from '../broadcaster/broadcaster.js';
import { ConfigError } from '../config/load.js';
import { KeyFileError } from '../identity/key-file.js';
import { MagnetLinkError } from '../identity/magnet.js';
import { StoreOpenError } from '../node.js';
import { EmbeddedQueueInUseError } from '../queue/index.js';
import { SchemaTooNewError } from '../store/index.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The README's exit-status table, row by row (status, meaning). */
export const EXIT_STATUS_TABLE: ReadonlyArray<readonly [ExitCode, string]> = [
  [EXIT.ok, 'success (`send`: at least one transport delivered; `--help`, `--version`)'],
  [
    EXIT.failed,
    '`send` delivered on no transport; the port (`relay`, the HTTP port of `start`) or the embedded queue is already in use; the store cannot be opened; `doctor` found something needed broken; `status` found no service or was refused; any other error (printed as "unexpected error")',
  ],
  [
    EXIT.usage,
    'bad usage (unknown command or flag, missing or bad argument, no command: the help is printed); bad configuration, key file or magnet link; a service identity that does not match the rooms in the store',
  ],
];

/**
 * An error the user can act on, with its one-line message and exit status:
 * thrown by commands for failures they know how to explain.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Commander codes that are not failures. */
const COMMANDER_SUCCESS = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * The exit status for an error, and the line to print (undefined when
 * commander already printed its own). The line never holds a stack trace;
 * the errors it quotes never carry secrets (each names what is wrong by key,
 * path or parameter).
 */
export function classifyError(err: unknown): { code: ExitCode; line?: string } {
  if (err instanceof CommanderError) {
    if (COMMANDER_SUCCESS.has(err.code)) return { code: EXIT.ok };
    // `roomcast help` exits 0; `roomcast` alone (help on stderr) and every parse error are usage errors.
    if (err.code === 'commander.help' && err.exitCode === 0) return { code: EXIT.ok };
    return { code: EXIT.usage };
  }
  if (err instanceof CliError) return { code: err.exitCode, line: err.message };
  if (err instanceof ConfigError || err instanceof KeyFileError || err instanceof MagnetLinkError || err instanceof MessageTooLargeError) {
    return { code: EXIT.usage, line: err.message };
  }
  if (err instanceof EmbeddedQueueInUseError) return { code: EXIT.failed, line: err.message };
  if (err instanceof StoreOpenError) {
    return { code: EXIT.failed, line: `${err.message} (check store.url / ROOMCAST_STORE_URL, or --data-dir for the default file)` };
  }
  if (err instanceof SchemaTooNewError) return { code: EXIT.failed, line: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT.failed, line: `unexpected error: ${message.split('\n')[0]}` };
}
