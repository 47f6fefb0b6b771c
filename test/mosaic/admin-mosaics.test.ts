import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../src/auth/auth.ts';
import { createModeration } from '../../src/moderation/moderation.ts';
import { launchChromium } from '../helpers/browser.ts';
import { flatJpeg } from '../helpers/images.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let cookie: string;
let organizerId: number;
const postIds: number[] = [];

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { cookie, origin: server.url, ...(init.headers ?? {}) },
  });

async function waitReady(id: string) {
  for (let i = 0; i < 240; i++) {
    const { mosaics } = await (await api('/api/admin/mosaics')).json();
    const m = mosaics.find((x: { id: string }) => x.id === id);
    if (m?.status === 'ready' && m.job?.status !== 'running') return m;
    if (m?.status === 'failed') throw new Error(m.error);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the build did not finish');
}

beforeAll(async () => {
  server = await startTestServer();
  const colours = [
    { r: 200, g: 30, b: 30 },
    { r: 30, g: 160, b: 60 },
    { r: 40, g: 60, b: 200 },
    { r: 230, g: 210, b: 40 },
  ];
  for (const [i, colour] of colours.entries()) {
    const result = await server.ctx.ingest.ingest(
      {
        network: 'upload',
        remoteId: `m${i}`,
        url: null,
        text: '',
        language: 'en',
        postedAt: new Date(Date.UTC(2026, 10, 1, i)),
        author: {
          remoteId: `m${i}`,
          handle: null,
          name: `Supporter ${i}`,
          profileUrl: null,
          avatarUrl: null,
        },
        media: [{ bytes: await flatJpeg(colour, 300, 300), alt: null }],
        sourceId: 'upload',
        consent: { display: true, print: true },
      },
      { approveBy: 'test' },
    );
    postIds.push(result.postId as number);
  }
  const organizer = await createAuthService(server.ctx.db).addOrganizer(
    'maker',
    'mosaic maker password',
    'moderator',
  );
  organizerId = organizer.id;
  cookie = await login(server.url, 'maker', 'mosaic maker password');
});
afterAll(() => server.close());

describe('mosaics from the admin page', () => {
  it('builds in the background, offers the downloads, goes stale on a takedown and rebuilds in one click', async () => {
    const form = new FormData();
    form.set('cells', '16');
    form.set('width', '400');
    form.set('blend', '0');
    const started = await api('/api/admin/mosaics', { method: 'POST', body: form });
    expect(started.status).toBe(202);
    const { id } = await started.json();
    const ready = await waitReady(id);
    expect(ready.stats.photosShown).toBe(4);

    const image = await api(`/admin/mosaics/${id}/file/image`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    const csv = await (await api(`/admin/mosaics/${id}/file/manifestCsv`)).text();
    expect(csv).toContain('Supporter 0');
    const credits = await (await api(`/admin/mosaics/${id}/file/credits`)).text();
    expect(credits).toContain('Supporter 3');
    expect(credits).toContain(`/mosaics/${id}/viewer/`);
    expect((await fetch(`${server.url}/admin/mosaics/${id}/file/image`, { redirect: 'manual' })).status).toBe(
      303,
    );
    const viewer = await fetch(`${server.url}/mosaics/${id}/viewer/`);
    expect(viewer.status).toBe(200);
    expect(await viewer.text()).toContain('viewer.js');
    expect((await fetch(`${server.url}/mosaics/${id}/viewer/%2e%2e/%2e%2e/%2e%2e/standwall.db`)).status).toBe(
      404,
    );
    expect((await fetch(`${server.url}/no/such/page`, { redirect: 'manual' })).status).toBe(404);

    await createModeration(server.ctx).decide(postIds[0] as number, 'remove', { organizerId });
    let stale = null;
    for (let i = 0; i < 40 && !stale?.stale; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stale = (await (await api('/api/admin/mosaics')).json()).mosaics.find(
        (m: { id: string }) => m.id === id,
      );
    }
    expect(stale).toMatchObject({ stale: true });

    const rebuilt = await api(`/api/admin/mosaics/${id}/rebuild`, { method: 'POST' });
    expect(rebuilt.status).toBe(202);
    const again = await waitReady(id);
    expect(again).toMatchObject({ stale: false });
    expect(again.stats.photosShown).toBe(3);
  });

  it('lets the organizer allow more uses of each photo, and says when too few are allowed', async () => {
    const build = async (maxRepeats: string, crop?: string) => {
      const form = new FormData();
      form.set('cells', '16');
      form.set('width', '400');
      form.set('maxRepeats', maxRepeats);
      if (crop) form.set('crop', crop);
      const started = await api('/api/admin/mosaics', { method: 'POST', body: form });
      expect(started.status).toBe(202);
      return (await started.json()).id as string;
    };
    // 3 photos left after the takedown above, and about 16 cells (5×3 for the peace symbol).
    const loose = await waitReady(await build('12', '100'));
    expect(loose.options.maxRepeats).toBe(12);
    expect(loose.stats.maxRepeats).toBeLessThanOrEqual(12);
    expect(loose.stats.photosShown).toBe(3);
    expect(loose.options.crop).toBe(100);
    expect(loose.stats.cropped).toBe(0);
    // By default cells may show crops: the build records the option, and shows every photo
    // whole at least once.
    const cropped = await waitReady(await build(''));
    expect(cropped.options.crop).toBe(35);
    expect(cropped.stats.photosShown).toBe(3);
    expect(cropped.stats.cropped).toBeLessThanOrEqual(15 - 3);
    await expect(waitReady(await build('2'))).rejects.toThrow(
      /^3 photos used at most 2 times each cannot fill 15 cells: use fewer cells or allow 5 repeats$/,
    );
  });

  it('names a bad input', async () => {
    const form = new FormData();
    form.set('blend', '150');
    const bad = await api('/api/admin/mosaics', { method: 'POST', body: form });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/blend/);
    const noUse = new FormData();
    noUse.set('maxRepeats', '0');
    const zero = await api('/api/admin/mosaics', { method: 'POST', body: noUse });
    expect(zero.status).toBe(400);
    expect((await zero.json()).error).toBe('most uses of a photo: at least 1');
    const tooMuch = new FormData();
    tooMuch.set('crop', '150');
    const crop = await api('/api/admin/mosaics', { method: 'POST', body: tooMuch });
    expect(crop.status).toBe(400);
    expect((await crop.json()).error).toBe('crop: 1–100 %');
    const notImage = new FormData();
    notImage.set('target', new Blob(['hello']), 'target.jpg');
    const refused = await api('/api/admin/mosaics', { method: 'POST', body: notImage });
    expect((await refused.json()).error).toMatch(/^target: /);
  });

  it('starts a build from the form and shows its progress and downloads, in Chromium', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/admin/login?next=/admin/mosaics`);
      await page.fill('input[name=username]', 'maker');
      await page.fill('input[name=password]', 'mosaic maker password');
      await page.click('button[type=submit]');
      await page.waitForURL(/\/admin\/mosaics/);
      const rows = await page.locator('#mosaics tbody tr').count();
      await page.fill('input[name=cells]', '9');
      await page.fill('input[name=width]', '300');
      await page.click('#mosaic-form button[type=submit]');
      await page.waitForFunction((n) => document.querySelectorAll('#mosaics tbody tr').length > n, rows);
      await page.waitForSelector('#mosaics tbody tr:first-child a[href$="/file/image"]', { timeout: 60_000 });
    } finally {
      await browser.close();
    }
  });
});
