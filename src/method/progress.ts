// Progress display for long runs: a redrawn one-line bar with ETA and current losses on a TTY, plain
// log lines (one per epoch) otherwise. Display only — the JSONL log is the record.

export interface ProgressState {
  epoch: number;
  epochs: number;
  iter: number;
  iters: number;
  losses: Record<string, number>;
  lastTop1?: number;
}

/** Format seconds as h:mm:ss or m:ss. */
export function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

function fmtLosses(l: Record<string, number>): string {
  return Object.entries(l).map(([k, v]) => `${k} ${Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(3)}`).join(' ');
}

export class Progress {
  private readonly tty: boolean;
  /** Clock and iteration count at the first update(): the rate excludes model loading and the FP evaluation. */
  private t0 = -1;
  private done0 = 0;
  private lastDraw = 0;
  private earlyLineDone = false;
  /** Seconds the latest evaluation took (0: none yet, or no per-epoch evaluation): the price of each one still to come. */
  private evalSec = 0;
  /** Evaluation seconds since the first update, taken out of the iteration rate so they are not counted twice. */
  private evalSince0 = 0;

  /** Iterations after which a plain (non-TTY) run prints its one early rate line, long before its first epoch line. */
  static readonly EARLY_LINE_AFTER = 10;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, enabled = true, private readonly now: () => number = Date.now) {
    this.tty = enabled && Boolean(stream.isTTY);
  }

  /**
   * Run one evaluation and record its duration on this display's clock. Before the first update (the
   * full-precision evaluation) it only prices the per-epoch evaluations to come; later ones are also taken
   * out of the iteration rate.
   */
  evaluation<T>(run: () => T): T {
    const t = this.now();
    const result = run();
    this.evalSec = (this.now() - t) / 1000;
    if (this.t0 >= 0) this.evalSince0 += this.evalSec;
    return result;
  }

  /**
   * Seconds left: (total − done) / rate + evalsLeft · (latest evaluation's seconds), rate = iterations per wall
   * second since the first update, evaluation time excluded.
   */
  private eta(s: ProgressState, now: number, evalsLeft: number): number {
    const done = s.epoch * s.iters + s.iter + 1;
    if (this.t0 < 0) {
      this.t0 = now;
      this.done0 = done;
    }
    const rate = (done - this.done0) / ((now - this.t0) / 1000 - this.evalSince0);
    return (s.epochs * s.iters - done) / rate + evalsLeft * this.evalSec;
  }

  /**
   * On a TTY: redraw the bar (at most 10 times a second). Otherwise: one line after the first
   * EARLY_LINE_AFTER iterations with their time and the ETA, so a run that will take hours says so at once.
   */
  update(s: ProgressState): void {
    const now = this.now();
    const evalsLeft = s.epochs - s.epoch; // this epoch's evaluation is still to come
    const eta = this.eta(s, now, evalsLeft);
    const total = s.epochs * s.iters;
    const done = s.epoch * s.iters + s.iter + 1;
    if (!this.tty) {
      const n = done - this.done0;
      if (!this.earlyLineDone && n >= Progress.EARLY_LINE_AFTER) {
        this.earlyLineDone = true;
        const evals = this.evalSec > 0 ? ` and ${evalsLeft} evaluations of ≈ ${this.evalSec.toFixed(0)} s` : '';
        this.stream.write(`${n} iterations in ${((now - this.t0) / 1000).toFixed(1)} s (${((now - this.t0) / 1000 / n).toFixed(2)} s each); ETA ${fmtDuration(eta)} for the ${total - done} left${evals}\n`);
      }
      return;
    }
    if (now - this.lastDraw < 100 && s.iter + 1 < s.iters) return;
    this.lastDraw = now;
    const width = 24;
    const fill = Math.round((done / total) * width);
    const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
    const acc = s.lastTop1 !== undefined ? ` top1 ${s.lastTop1.toFixed(2)}%` : '';
    const line = `${bar} ep ${s.epoch + 1}/${s.epochs} it ${s.iter + 1}/${s.iters} ETA ${fmtDuration(eta)} ${fmtLosses(s.losses)}${acc}`;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
  }

  /** One line per finished epoch, with the ETA of the rest (on a TTY it replaces the bar and leaves a permanent line). */
  epochLine(s: ProgressState, seconds: number): void {
    const acc = s.lastTop1 !== undefined ? ` top1 ${s.lastTop1.toFixed(2)}%` : '';
    const left = s.epoch + 1 < s.epochs ? `, ETA ${fmtDuration(this.eta(s, this.now(), s.epochs - s.epoch - 1))}` : '';
    const line = `epoch ${s.epoch + 1}/${s.epochs} ${fmtLosses(s.losses)}${acc} (${seconds.toFixed(1)} s${left})`;
    this.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  /** A plain message line that does not break the bar. */
  message(msg: string): void {
    this.stream.write(this.tty ? `\r\x1b[2K${msg}\n` : `${msg}\n`);
  }
}
