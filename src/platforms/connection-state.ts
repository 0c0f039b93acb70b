/**
 * A platform's connection as `status()` reports it: up or down, since when,
 * and the last error (kept after a recovery, so an operator sees what
 * happened). The adapters feed it from their own events.
 */
import type { PlatformStatus } from './platform.js';

export class ConnectionState {
  private connected = false;
  private since = Date.now();
  private lastError: { message: string; at: number } | undefined;

  up(): void {
    if (this.connected) return;
    this.connected = true;
    this.since = Date.now();
  }

  down(): void {
    if (!this.connected) return;
    this.connected = false;
    this.since = Date.now();
  }

  /** Down, because of `message` (already free of secrets). */
  failed(message: string): void {
    this.down();
    this.lastError = { message, at: Date.now() };
  }

  /** The status with `detail`: what it is connected to, or waits for. */
  status(detail: string): PlatformStatus {
    return { connected: this.connected, since: this.since, detail, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }
}
