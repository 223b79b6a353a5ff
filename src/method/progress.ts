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
  private readonly start = Date.now();
  private doneAtStart = -1;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, enabled = true) {
    this.tty = enabled && Boolean(stream.isTTY);
  }

  /** Redraw the bar (TTY only, at most 10 times a second). ETA from the rate since this process began. */
  update(s: ProgressState): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && s.iter + 1 < s.iters) return;
    this.lastDraw = now;
    const total = s.epochs * s.iters;
    const done = s.epoch * s.iters + s.iter + 1;
    if (this.doneAtStart < 0) this.doneAtStart = done - 1;
    const rate = (done - this.doneAtStart) / Math.max(1e-3, (now - this.start) / 1000);
    const eta = (total - done) / rate;
    const width = 24;
    const fill = Math.round((done / total) * width);
    const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
    const acc = s.lastTop1 !== undefined ? ` top1 ${s.lastTop1.toFixed(2)}%` : '';
    const line = `${bar} ep ${s.epoch + 1}/${s.epochs} it ${s.iter + 1}/${s.iters} ETA ${fmtDuration(eta)} ${fmtLosses(s.losses)}${acc}`;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
  }

  /** One line per finished epoch (on a TTY it replaces the bar and leaves a permanent line). */
  epochLine(s: ProgressState, seconds: number): void {
    const acc = s.lastTop1 !== undefined ? ` top1 ${s.lastTop1.toFixed(2)}%` : '';
    const line = `epoch ${s.epoch + 1}/${s.epochs} ${fmtLosses(s.losses)}${acc} (${seconds.toFixed(1)} s)`;
    this.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  /** A plain message line that does not break the bar. */
  message(msg: string): void {
    this.stream.write(this.tty ? `\r\x1b[2K${msg}\n` : `${msg}\n`);
  }
}
