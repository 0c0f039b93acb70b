/**
 * Running the real `roomcast` binary from tests: to completion (exit code and
 * output), or in the background with its output watched, so a test waits on
 * what the process says (a ready line) rather than on time. Every background
 * process is killed by stopAll() (call it in afterAll/afterEach).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../support/wait.js';

export const BIN = new URL('../../bin/roomcast.js', import.meta.url).pathname;
const run = promisify(execFile);

export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Environment for a child: ours without roomcast's own variables (a
 * developer's shell may set them), and the HTTP server on a free port (tests
 * never take fixed ones) unless the test says otherwise.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ROOMCAST_') && k !== 'REDIS_URL') env[k] = v;
  return { ...env, ROOMCAST_HTTP_PORT: '0', ...extra };
}

/** Runs `roomcast args…` to the end. */
export async function roomcast(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Finished> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, timeout: 60_000, env: cleanEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout split into complete lines. */
  lines(): string[];
  /** Resolves with the exit code (a signal counts as -1, and is noted at the end of stderr()). */
  readonly exited: Promise<number>;
  /** Waits until `check(stdout)` holds; fails early, with the output, if the process exits first. */
  until(check: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM (the CLI's Ctrl-C), then waits for the exit. */
  stop(): Promise<number>;
}

const running = new Set<Running>();

/** Starts `roomcast args…` in the background; stdin is a pipe the test may write to. */
export function start(args: readonly string[], cwd: string, env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? -1;
      if (signal) err += `\n[test] roomcast ${args[0]} ended by ${signal}`;
      resolve(exitCode);
    }),
  );
  const r: Running = {
    child,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').slice(0, -1),
    exited,
    until: async (check, what, timeoutMs = 30_000) => {
      await waitFor(
        () => {
          if (check(out)) return true;
          if (exitCode !== undefined) throw new Error(`roomcast ${args[0]} exited (${exitCode}) before ${what}\nstdout: ${out}\nstderr: ${err}`);
          return false;
        },
        what,
        timeoutMs,
      );
    },
    stop: async () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
  running.add(r);
  void exited.then(() => running.delete(r));
  return r;
}

/** Kills whatever is still running (test cleanup). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(async (r) => {
    r.child.kill('SIGKILL');
    await r.exited;
  }));
}
