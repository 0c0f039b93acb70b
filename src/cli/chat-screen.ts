/**
 * The terminal side of `roomcast chat`: a prompt to type at, and lines
 * printed ABOVE it without breaking what is being typed. On a terminal,
 * printing erases the input line, writes the text, and draws the prompt and
 * the half-typed line again with the cursor where it was; everything goes
 * through readline's public API (key presses simulated with `rl.write`), so
 * readline's own idea of the screen stays right. Elsewhere (a pipe, a test)
 * there is no prompt and lines are written as they come.
 */
import { clearScreenDown, createInterface, cursorTo, moveCursor } from 'node:readline';
import type { Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Where the chat session prints. */
export interface ChatView {
  /** One line (or several, separated by \n) of output, above the input line. */
  print(text: string): void;
}

export interface ChatScreenOptions {
  readonly input: Readable;
  readonly output: Writable & { readonly columns?: number };
  /** A terminal: prompt, line editing and redraws. */
  readonly terminal: boolean;
  readonly prompt?: string;
}

export class ChatScreen implements ChatView {
  private readonly rl: Interface;
  private readonly output: ChatScreenOptions['output'];
  private readonly terminal: boolean;
  private readonly promptText: string;
  private prompting = false;

  constructor(o: ChatScreenOptions) {
    this.output = o.output;
    this.terminal = o.terminal;
    this.promptText = o.prompt ?? '> ';
    this.rl = o.terminal
      ? createInterface({ input: o.input, output: o.output, terminal: true, prompt: this.promptText })
      : createInterface({ input: o.input, terminal: false });
    // Ctrl-C at the prompt leaves like Ctrl-D (readline would only pause the input).
    this.rl.on('SIGINT', () => this.rl.close());
  }

  /** Lines as typed (Enter), until Ctrl-D, Ctrl-C or the end of the input. */
  lines(): AsyncIterableIterator<string> {
    return this.rl[Symbol.asyncIterator]();
  }

  /** Shows the prompt (terminal only); from then on print() redraws it. */
  prompt(): void {
    if (!this.terminal) return;
    this.prompting = true;
    this.rl.prompt();
  }

  print(text: string): void {
    if (!this.terminal || !this.prompting) {
      this.output.write(`${text}\n`);
      return;
    }
    const typed = this.rl.line;
    const cursor = this.rl.cursor;
    // Home (Ctrl-A) puts the cursor on the input's first row and lets readline
    // refresh its row bookkeeping; then clear from there down and print.
    if (cursor > 0) this.rl.write(null, { ctrl: true, name: 'a' });
    cursorTo(this.output, 0);
    clearScreenDown(this.output);
    this.output.write(`${text}\n`);
    this.rl.prompt(true);
    // Back to where the cursor was: End (Ctrl-E), or right (Ctrl-F) step by step.
    if (cursor === typed.length) {
      if (cursor > 0) this.rl.write(null, { ctrl: true, name: 'e' });
    } else {
      for (let i = 0; i < cursor; i++) this.rl.write(null, { ctrl: true, name: 'f' });
    }
  }

  /**
   * After Enter on a terminal: removes the echoed "> text" row(s), so the
   * session's own "You: text" line is the only record. (Width counted in
   * UTF-16 units: wide characters may leave a stray row; cosmetic only.)
   */
  forgetEntered(line: string): void {
    if (!this.terminal) return;
    const columns = this.output.columns && this.output.columns > 0 ? this.output.columns : 80;
    const rows = Math.floor(Math.max(0, this.promptText.length + line.length - 1) / columns) + 1;
    moveCursor(this.output, 0, -rows);
    cursorTo(this.output, 0);
    clearScreenDown(this.output);
  }

  close(): void {
    this.prompting = false;
    this.rl.close();
  }
}
