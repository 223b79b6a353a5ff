// Ctrl-C and SIGTERM during a run: the first signal asks the loop to stop at the next iteration boundary
// (it writes a checkpoint and says how to resume); our listeners are then removed, so a second signal gets
// the default action and the process ends at once. That cannot corrupt the run directory: every file is
// written to a temp file and renamed.

import { LrqError } from '../engine/errors.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type Sig = (typeof SIGNALS)[number];

/** Exit status of a run stopped by a signal: 128 + its number, as a shell reports it (SIGINT 130, SIGTERM 143). */
export const SIGNAL_EXIT: Record<Sig, number> = { SIGINT: 130, SIGTERM: 143 };

/** A run stopped on request; the CLI prints its message and exits with `exitCode`. */
export class InterruptedError extends LrqError {
  constructor(message: string, readonly signal: Sig) {
    super(message);
    this.name = 'InterruptedError';
  }
  get exitCode(): number { return SIGNAL_EXIT[this.signal]; }
}

/** Listens for SIGINT/SIGTERM while a run is in progress; `requested` is the first signal seen, if any. */
export class Interrupt {
  requested: Sig | null = null;
  private readonly handlers = new Map<Sig, () => void>();

  constructor(private readonly notice: (msg: string) => void) {}

  /** Start listening (a no-op when already listening). */
  install(): this {
    if (this.handlers.size) return this;
    for (const s of SIGNALS) {
      const h = () => {
        this.requested = s;
        this.uninstall(); // the next signal gets the default action: exit at once
        this.notice(`${s === 'SIGINT' ? 'Ctrl-C' : s}: stopping at the next iteration and writing a checkpoint (Ctrl-C again to exit at once)`);
      };
      this.handlers.set(s, h);
      process.on(s, h);
    }
    return this;
  }

  /** Stop listening; signals get their default action again. */
  uninstall(): void {
    for (const [s, h] of this.handlers) process.off(s, h);
    this.handlers.clear();
  }
}

/** Let the event loop run pending signal handlers (the training loop is synchronous between these points). */
export function yieldToSignals(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
