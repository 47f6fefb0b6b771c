import { parseArgs } from 'node:util';
import { readSettings } from '../config/env.ts';
import { createContext } from '../context.ts';
import { importFolder } from '../import/importer.ts';
import { SidecarError } from '../import/sidecar.ts';
import { createProgress, type Progress } from './progress.ts';
import { runCli, UsageError } from './run.ts';

const USAGE = 'usage: npm run import -- DIR [--approve] [--consent]';

runCli(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      approve: { type: 'boolean', default: false },
      consent: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one folder\n${USAGE}`);
  const dir = positionals[0] as string;

  // A bulk import has no wall to keep responsive: its photos are decoded in this process (sharp
  // runs on libuv's threads) unless MEDIA_WORKERS asks for worker threads. The hand-offs to and
  // from workers were a tenth of the import's CPU: 2,000 photos in 11.8–13.5 s against 13.0–13.9 s.
  const settings = readSettings();
  const ctx = createContext(process.env.MEDIA_WORKERS ? settings : { ...settings, mediaWorkers: 0 });
  let progress: Progress | undefined;
  try {
    const summary = await importFolder(dir, ctx.ingest, {
      approve: values.approve,
      consent: values.consent,
      onStart: (total) => {
        progress = createProgress('import', total);
      },
      onFile: (file) => progress?.tick(file),
    }).catch((error: unknown) => {
      if (error instanceof SidecarError) throw new UsageError(error.message);
      if (error instanceof Error && /is not a folder/.test(error.message))
        throw new UsageError(error.message);
      throw error;
    });
    progress?.done();
    const out = process.stdout;
    out.write(`files:         ${summary.files}\n`);
    out.write(
      `imported:      ${summary.imported}${values.approve ? ' (approved)' : ' (pending moderation)'}\n`,
    );
    out.write(`already there: ${summary.alreadyThere}\n`);
    out.write(`rejected:      ${summary.rejected.length}\n`);
    for (const r of summary.rejected) out.write(`  ${r.file}: ${r.reason}: ${r.message}\n`);
    const readable = summary.imported + summary.alreadyThere;
    if (readable === 0) {
      process.stderr.write(summary.files === 0 ? `no files in ${dir}\n` : 'no photo could be read\n');
      return 1;
    }
    return 0;
  } finally {
    ctx.close();
  }
});
