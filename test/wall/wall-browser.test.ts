import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../src/auth/auth.ts';
import type { NormalizedPost } from '../../src/ingest/normalized-post.ts';
import { createModeration } from '../../src/moderation/moderation.ts';
import { createApp } from '../../src/server/app.ts';
import { launchChromium, outputPath } from '../helpers/browser.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { photoJpeg } from '../helpers/images.ts';

const XSS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert("wall")</script>',
  '"><svg onload=alert(2)>',
  "javascript:alert('x')",
  '&lt;b&gt;not bold&lt;/b&gt;',
];

let ctx: TestContext;
let browser: Browser;
let seed = 500;

function post(remoteId: string, overrides: Partial<NormalizedPost> = {}): Promise<NormalizedPost> {
  return photoJpeg(seed++, 640, 480).then((bytes) => ({
    network: 'mastodon',
    remoteId,
    url: `https://mastodon.example/@a/${remoteId}`,
    text: `Peace now ${remoteId} #IStandForPeace`,
    language: 'en',
    postedAt: new Date(),
    author: {
      remoteId: `author-${remoteId}`,
      handle: `user${remoteId}`,
      name: `Person ${remoteId}`,
      profileUrl: null,
      avatarUrl: null,
    },
    media: [{ bytes, alt: null }],
    sourceId: 'mastodon',
    ...overrides,
  }));
}

async function approved(remoteId: string, overrides: Partial<NormalizedPost> = {}): Promise<number> {
  const result = await ctx.ingest.ingest(await post(remoteId, overrides), { approveBy: 'test' });
  return result.postId as number;
}

/** The real app on a real socket; can be stopped and started again on the same port. */
async function startServer(port = 0) {
  const app = createApp(ctx);
  const server = serve({ fetch: app.app.fetch, port, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    app,
    async stop() {
      app.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const shownIds = (page: import('playwright-core').Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('#spotlight[data-id], #grid [data-id]')].map((n) =>
      Number((n as HTMLElement).dataset.id),
    ),
  );

beforeAll(async () => {
  ctx = createTestContext({ wall: { paceSeconds: 3 } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  ctx.dispose();
});

describe('the wall in Chromium', () => {
  it('shows approved posts from the database, never pending ones, with text as text', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(await approved(`w${i}`, { postedAt: new Date(Date.now() - i * 60_000) }));
    const xssId = await approved('xss', {
      text: XSS.join(' '),
      author: {
        remoteId: 'evil',
        handle: '<b>evil</b>',
        name: '<img src=y onerror=alert(3)>',
        profileUrl: null,
        avatarUrl: null,
      },
    });
    await ctx.ingest.ingest(await post('pending-one'));
    const server = await startServer();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    try {
      await page.goto(`${server.url}/wall`);
      await page.waitForFunction(
        (n) => document.querySelectorAll('#spotlight[data-id], #grid [data-id]').length >= n,
        5,
        { timeout: 10_000 },
      );
      const shown = await shownIds(page);
      expect(new Set(shown)).toEqual(new Set([...ids, xssId]));
      const texts = await page.evaluate(() =>
        [...document.querySelectorAll('#wall .text, #wall .ctext, #wall .name')].map(
          (n) => n.textContent ?? '',
        ),
      );
      expect(texts.join(' ')).toContain('<img src=y onerror=alert(3)>');
      expect(texts.join(' ')).toContain('<script>alert("wall")</script>');
      expect(
        await page.locator('#wall img[src="x"], #wall img[src="y"], #wall script:not([src])').count(),
      ).toBe(0);
      expect(dialogs).toEqual([]);
      // After a few spotlight rotations (pace 3 s) every photo is still on screen exactly once.
      await page.waitForTimeout(7000);
      const after = await shownIds(page);
      expect(after.length).toBe(new Set(after).size);
      expect(new Set(after)).toEqual(new Set([...ids, xssId]));
      // Network marks are small badges beside the name, not photo-sized (a layout regression seen once).
      const badges = await page.evaluate(() =>
        [...document.querySelectorAll('#grid .net:not([hidden])')].map(
          (n) => n.getBoundingClientRect().width,
        ),
      );
      expect(badges.length).toBeGreaterThan(0);
      for (const width of badges) expect(width).toBeLessThan(60);
      await page.screenshot({ path: outputPath('wall-1920x1080.png') });
      await page.setViewportSize({ width: 3840, height: 2160 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: outputPath('wall-3840x2160.png') });
    } finally {
      await page.close();
      await server.stop();
    }
  });

  it('shows a newly approved post without a reload and drops a removed one at once', async () => {
    const server = await startServer();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    try {
      await page.goto(`${server.url}/wall`);
      await page.waitForSelector('#spotlight[data-id]');
      const fresh = await approved('live-1');
      await page.waitForFunction((id) => document.querySelector(`#spotlight[data-id="${id}"]`), fresh, {
        timeout: 5000,
      });
      expect(await page.locator('#spotlight .name').textContent()).toBe('Person live-1');

      const moderator = await createAuthService(ctx.db).addOrganizer(
        'walltest',
        'a long enough password',
        'moderator',
      );
      await createModeration(ctx).decide(fresh, 'reject', { organizerId: moderator.id });
      await page.waitForFunction((id) => !document.querySelector(`[data-id="${id}"]`), fresh, {
        timeout: 5000,
      });
    } finally {
      await page.close();
      await server.stop();
    }
  });

  it('recovers after the server stops and restarts, showing what was approved meanwhile, once', async () => {
    let server = await startServer();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    const received: number[] = [];
    await page.exposeFunction('recordPostEvent', (id: number) => received.push(id));
    await page.addInitScript(() => {
      const Original = window.EventSource;
      window.EventSource = class extends Original {
        constructor(url: string | URL, init?: EventSourceInit) {
          super(url, init);
          this.addEventListener('post', (e) =>
            (window as unknown as { recordPostEvent(id: number): void }).recordPostEvent(
              JSON.parse((e as MessageEvent).data).id,
            ),
          );
        }
      } as typeof EventSource;
    });
    try {
      await page.goto(`${server.url}/wall`);
      await page.waitForSelector('#spotlight[data-id]');
      const port = server.port;
      await server.stop();
      await page.waitForSelector('#offline:not([hidden])', { timeout: 10_000 });
      const meanwhile = [await approved('gap-1'), await approved('gap-2')];
      server = await startServer(port);
      await page.waitForSelector('#offline', { state: 'hidden', timeout: 15_000 });
      await page.waitForFunction(
        (ids) => ids.every((id) => document.querySelector(`[data-id="${id}"]`)),
        meanwhile,
        { timeout: 15_000 },
      );
      await page.waitForTimeout(1500);
      for (const id of meanwhile) expect(received.filter((r) => r === id)).toHaveLength(1);
      const shown = await shownIds(page);
      expect(shown.length).toBe(new Set(shown).size);
    } finally {
      await page.close();
      await server.stop();
    }
  });
});
