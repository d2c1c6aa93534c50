/**
 * A live progress line on stderr: rewritten in place on a terminal, and on anything else (CI
 * logs, a file) printed as a plain line at most every few seconds, so a long run shows it is
 * alive without flooding the log.
 */
export interface Progress {
  /** Replaces the live line (`lane: what is happening`). */
  update(line: string): void;
  /** A permanent line (a finished lane, a note), above the live one. */
  say(line: string): void;
  done(): void;
}

export function createProgress(prefix: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const startedAt = Date.now();
  let current = '';
  let lastPrintedAt = 0;
  const elapsed = (): string => {
    const seconds = Math.round((Date.now() - startedAt) / 1000);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  };
  const render = (): string => `[${prefix} ${elapsed()}] ${current}`;
  const clear = (): void => {
    if (tty) stream.write('\r\x1b[2K');
  };
  // On a terminal the clock moves even when no lane reports anything.
  const ticker = tty ? setInterval(() => draw(), 1_000) : undefined;
  ticker?.unref();

  function draw(): void {
    if (current === '') return;
    if (tty) {
      clear();
      stream.write(render().slice(0, (stream.columns || 120) - 1));
    } else if (Date.now() - lastPrintedAt >= 5_000) {
      stream.write(`${render()}\n`);
      lastPrintedAt = Date.now();
    }
  }

  return {
    update(line) {
      current = line;
      draw();
    },
    say(line) {
      clear();
      stream.write(`[${prefix} ${elapsed()}] ${line}\n`);
      lastPrintedAt = Date.now();
      if (tty) draw();
    },
    done() {
      if (ticker) clearInterval(ticker);
      clear();
      current = '';
    },
  };
}
