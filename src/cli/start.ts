import { serve } from '@hono/node-server';
import { createContext } from '../context.ts';
import { log } from '../log.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { createApp } from '../server/app.ts';
import { buildSourceTasks } from '../sources.ts';
import { runCli } from './run.ts';

runCli(async () => {
  const ctx = createContext();
  const scheduler = new Scheduler(buildSourceTasks(ctx), { db: ctx.db, bus: ctx.bus });
  const { app, close: closeApp } = createApp(ctx, { sourceIds: () => scheduler.sourceIds });

  const server = serve({ fetch: app.fetch, port: ctx.settings.port, hostname: ctx.settings.host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : ctx.settings.port;
  log.info(
    { url: `http://${ctx.settings.host}:${port}`, campaign: ctx.campaign.id, dataDir: ctx.settings.dataDir },
    'standwall listening',
  );
  process.stdout.write(
    `standwall is running at http://${ctx.settings.host}:${port}/ (data in ${ctx.settings.dataDir})\n`,
  );
  scheduler.start();

  // Stop taking requests, let runs in progress finish their transaction, then close the
  // database: a signal never leaves a half-written row or file.
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      server.close();
      closeApp();
      if ('closeAllConnections' in server) server.closeAllConnections();
      scheduler
        .stop()
        .catch((error: unknown) => log.error({ err: error }, 'scheduler did not stop cleanly'))
        .finally(() => {
          ctx.close();
          log.info('stopped');
          resolve();
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
});
