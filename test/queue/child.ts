/** Runs fixtures/queue-child.ts in its own process and follows what it says. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { ChildRequest } from './fixtures/queue-child.js';

const SCRIPT = new URL('./fixtures/queue-child.ts', import.meta.url).pathname;

export interface QueueChild {
  readonly process: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line that starts with one of `prefixes` (already seen or to come). */
  waitForLine(prefixes: string[], timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number | null>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

export function startQueueChild(req: ChildRequest): QueueChild {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    for (const w of waiters) w();
  });
  let gone = false;
  void exited.then(() => (gone = true));

  function waitForLine(prefixes: string[], timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find((l) => prefixes.some((p) => l.startsWith(p)));
        if (hit !== undefined) {
          done();
          resolve(hit);
        } else if (gone) {
          done();
          reject(new Error(`child exited before saying ${prefixes.join('|')}; stdout: ${lines.join(' / ')}; stderr: ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`child did not say ${prefixes.join('|')} within ${timeoutMs} ms; stdout: ${lines.join(' / ')}; stderr: ${stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  return {
    process: child,
    lines,
    waitForLine,
    exited,
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
}
