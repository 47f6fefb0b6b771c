/**
 * A one-line progress bar on stderr for long jobs. On a terminal it redraws in place; in a
 * log file or CI it prints a line at every tenth so the output stays short.
 */
export interface Progress {
  tick(detail?: string): void;
  done(): void;
}

export function createProgress(label: string, total: number, stream = process.stderr): Progress {
  let current = 0;
  let lastDecile = -1;
  const started = Date.now();
  const tty = Boolean(stream.isTTY);
  const width = 30;

  function render(detail?: string): void {
    const fraction = total > 0 ? Math.min(1, current / total) : 1;
    const percent = Math.floor(fraction * 100);
    if (tty) {
      const filled = Math.round(fraction * width);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      const tail = detail ? ` ${detail.slice(0, 40)}` : '';
      stream.write(`\r${label} ${bar} ${percent}% ${current}/${total} ${seconds}s${tail}\x1b[K`);
    } else {
      const decile = Math.floor(percent / 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${label} ${percent}% (${current}/${total})\n`);
      }
    }
  }

  render();
  return {
    tick(detail) {
      current++;
      render(detail);
    },
    done() {
      if (tty) stream.write('\n');
      else if (lastDecile !== 10) stream.write(`${label} 100% (${current}/${total})\n`);
    },
  };
}
