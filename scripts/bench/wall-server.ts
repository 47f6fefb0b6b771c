/**
 * The server side of the wall benchmark, in its own process so the load generator does not
 * share its event loop: the real app over a temp data dir with approved and pending posts,
 * plus a bare Hono route on a second port for comparison. Prints one JSON line when ready.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createAuthService } from '../../src/auth/auth.ts';
import { readSettings } from '../../src/config/env.ts';
import { createContext } from '../../src/context.ts';
import { sharp } from '../../src/media/sharp-loaders.ts';
import { createApp } from '../../src/server/app.ts';

const pendingCount = Number(process.argv[2] ?? 100);
const dataDir = mkdtempSync(join(tmpdir(), 'standwall-bench-wall-'));
const config = join(dataDir, 'campaign.json');
writeFileSync(config, '{}');
const ctx = createContext(readSettings({ DATA_DIR: dataDir, CAMPAIGN_CONFIG: config }));

async function photo(i: number) {
  const pixels = Buffer.alloc(160 * 120 * 3, i % 251);
  for (let p = 0; p < pixels.length; p += 7) pixels[p] = (p * 31 + i * 17) % 256;
  return sharp(pixels, { raw: { width: 160, height: 120, channels: 3 } })
    .jpeg()
    .toBuffer();
}

async function seed(i: number, approve: boolean) {
  const result = await ctx.ingest.ingest(
    {
      network: 'mastodon',
      remoteId: `bench-${i}`,
      url: `https://mastodon.example/@p${i}/${i}`,
      text: `I stand for peace ${i} #IStandForPeace`,
      language: 'en',
      postedAt: new Date(Date.now() - i * 1000),
      author: {
        remoteId: `p${i}`,
        handle: `p${i}@mastodon.example`,
        name: `Person ${i}`,
        profileUrl: null,
        avatarUrl: null,
      },
      media: [{ bytes: await photo(i), alt: null }],
      sourceId: 'mastodon',
    },
    approve ? { approveBy: 'bench' } : {},
  );
  return result.postId as number;
}

for (let i = 0; i < 60; i++) await seed(i, true);
const pending: number[] = [];
for (let i = 60; i < 60 + pendingCount; i++) pending.push(await seed(i, false));
await createAuthService(ctx.db).addOrganizer('bench', 'bench password long', 'moderator');

const app = createApp(ctx);
const server = serve({ fetch: app.app.fetch, port: 0, hostname: '127.0.0.1' });
const bare = new Hono().get('/', (c) => c.json({ ok: true }));
const bareServer = serve({ fetch: bare.fetch, port: 0, hostname: '127.0.0.1' });
await Promise.all([server, bareServer].map((s) => new Promise((r) => s.once('listening', r))));
const port = (server.address() as { port: number }).port;
const barePort = (bareServer.address() as { port: number }).port;
process.stdout.write(`${JSON.stringify({ port, barePort, pending })}\n`);
process.on('SIGTERM', () => {
  app.close();
  server.close();
  bareServer.close();
  ctx.close();
  process.exit(0);
});
