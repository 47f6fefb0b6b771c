import { readdirSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, outputPath } from '../helpers/browser.ts';
import { photoJpeg } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let browser: Browser;

const count = (sql: string) => server.ctx.db.$client.prepare(sql).pluck().get() as number;
const mediaDirs = () => {
  try {
    return readdirSync(server.ctx.settings.mediaDir).length;
  } catch {
    return 0;
  }
};

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server.close();
});

describe('the upload page in Chromium', () => {
  it('uploads a real JPEG with name, region and consent into the moderation queue', async () => {
    const file = outputPath('upload-photo.jpg');
    writeFileSync(file, await photoJpeg(7001, 3000, 2000));
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${server.url}/submit?lang=ko`);
    expect(await page.locator('h2').first().textContent()).toBe('사진 보내기');
    await page.setInputFiles('#submit-form input[name=photo]', file);
    await page.waitForSelector('#preview:not([hidden])');
    await page.fill('#submit-form input[name=name]', '김민수');
    await page.selectOption('#submit-form select[name=region]', 'KR');
    await page.check('#submit-form input[name=consent]');
    await page.click('#submit-form button[type=submit]');
    await page.waitForURL(/\/submit\/thanks\?lang=ko/);
    expect(await page.locator('.share').textContent()).toContain('#IStandForPeace');
    await page.screenshot({ path: outputPath('submit-thanks.png') });
    await page.close();

    const row = server.ctx.db.$client
      .prepare(
        "select p.status, p.region, p.consent_display as display, p.consent_print as print, a.name, m.width, m.height from posts p join authors a on a.id = p.author_id join media m on m.post_id = p.id where p.network = 'upload'",
      )
      .get();
    // Downscaled in the browser to 2400 px on the long side before it was sent.
    expect(row).toEqual({
      status: 'pending',
      region: 'KR',
      display: 1,
      print: 1,
      name: '김민수',
      width: 2400,
      height: 1600,
    });
  });

  it('refuses a file that is not a photo with a clear message, keeping nothing', async () => {
    const before = [count('select count(*) from posts'), mediaDirs()];
    const file = outputPath('not-a-photo.jpg');
    writeFileSync(file, 'this is text pretending to be a JPEG');
    const page = await browser.newPage();
    await page.goto(`${server.url}/submit`);
    await page.setInputFiles('#submit-form input[name=photo]', file);
    await page.fill('#submit-form input[name=name]', 'Mallory');
    await page.check('#submit-form input[name=consent]');
    await page.click('#submit-form button[type=submit]');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.locator('#error').textContent()).toMatch(/^photo: .*(not|unsupported|recogni)/i);
    await page.close();
    expect([count('select count(*) from posts'), mediaDirs()]).toEqual(before);
  });
});

describe('POST /submit', () => {
  const send = async (fields: Record<string, string>, photo?: Blob, headers: Record<string, string> = {}) => {
    const body = new FormData();
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    if (photo) body.set('photo', photo, 'p.jpg');
    return fetch(`${server.url}/submit`, {
      method: 'POST',
      body,
      redirect: 'manual',
      headers: { origin: server.url, accept: 'application/json', ...headers },
    });
  };

  it('names what is missing: consent, name, photo', async () => {
    const jpeg = new Blob([new Uint8Array(await photoJpeg(7002, 300, 200))], { type: 'image/jpeg' });
    const noConsent = await send({ name: 'Ann' }, jpeg);
    expect(noConsent.status).toBe(400);
    expect((await noConsent.json()).error).toMatch(/^consent: /);
    const noName = await send({ consent: 'on' }, jpeg);
    expect((await noName.json()).error).toMatch(/^name: /);
    const noPhoto = await send({ consent: 'on', name: 'Ann' });
    expect((await noPhoto.json()).error).toMatch(/^photo: /);
  });

  it('answers a filled honeypot like a success and stores nothing', async () => {
    const before = count('select count(*) from posts');
    const jpeg = new Blob([new Uint8Array(await photoJpeg(7003, 300, 200))], { type: 'image/jpeg' });
    const response = await send({ name: 'Bot', consent: 'on', website: 'http://spam.example' }, jpeg);
    expect(response.status).toBe(200);
    expect(count('select count(*) from posts')).toBe(before);
  });

  it('refuses a cross-site form post and an over-size body', async () => {
    const jpeg = new Blob([new Uint8Array(await photoJpeg(7004, 300, 200))], { type: 'image/jpeg' });
    const cross = await fetch(`${server.url}/submit`, {
      method: 'POST',
      body: (() => {
        const f = new FormData();
        f.set('name', 'x');
        f.set('consent', 'on');
        f.set('photo', jpeg, 'p.jpg');
        return f;
      })(),
      headers: { origin: 'http://evil.example' },
    });
    expect(cross.status).toBe(403);
    const huge = new Blob([new Uint8Array(21 * 1024 * 1024)], { type: 'image/jpeg' });
    const big = await send({ name: 'Big', consent: 'on' }, huge);
    expect(big.status).toBe(413);
  });

  it('limits uploads per connection', async () => {
    const statuses = [];
    for (let i = 0; i < 12; i++) {
      const jpeg = new Blob([new Uint8Array(await photoJpeg(7100 + i, 64, 48))], { type: 'image/jpeg' });
      statuses.push((await send({ name: `N${i}`, consent: 'on' }, jpeg)).status);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(10);
  });
});
