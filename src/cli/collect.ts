import { parseArgs } from 'node:util';
import { createContext } from '../context.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { buildSourceTasks } from '../sources.ts';
import { runCli, UsageError } from './run.ts';

const USAGE = 'usage: npm run collect -- --once [--source ID]';

runCli(async () => {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      source: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.once)
    throw new UsageError(`--once is required (npm start runs the sources on their schedule)\n${USAGE}`);

  const ctx = createContext();
  try {
    const tasks = buildSourceTasks(ctx);
    const ids = tasks.map((t) => t.id);
    if (values.source && !ids.includes(values.source)) {
      throw new UsageError(`unknown source "${values.source}"; the sources are: ${ids.join(', ')}`);
    }
    const scheduler = new Scheduler(tasks, { db: ctx.db, bus: ctx.bus });
    const chosen = values.source ? [values.source] : ids;
    const stderr = process.stderr;
    const rows = [];
    for (const id of chosen) {
      let last = 0;
      const record = await scheduler.runNow(id, (done) => {
        if (!stderr.isTTY || Date.now() - last < 100) return;
        last = Date.now();
        stderr.write(`\r${id}: ${done} posts…\x1b[K`);
      });
      if (stderr.isTTY) stderr.write('\r\x1b[K');
      rows.push(record);
    }
    const out = process.stdout;
    out.write(
      `${'source'.padEnd(14)}${'status'.padEnd(9)}${'found'.padStart(7)}${'new'.padStart(7)}${'errors'.padStart(8)}${'seconds'.padStart(9)}  message\n`,
    );
    for (const r of rows) {
      out.write(
        `${r.sourceId.padEnd(14)}${r.status.padEnd(9)}${String(r.found).padStart(7)}${String(r.created).padStart(7)}${String(r.errors).padStart(8)}${r.seconds.toFixed(1).padStart(9)}  ${r.message ?? ''}\n`,
      );
    }
    return rows.every((r) => r.status === 'ok' || r.status === 'skipped') ? 0 : 1;
  } finally {
    ctx.close();
  }
});
