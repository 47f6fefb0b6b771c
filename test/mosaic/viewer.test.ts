import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMosaic } from '../../src/mosaic/build.ts';
import { launchChromium, outputPath } from '../helpers/browser.ts';
import { createTestContext, type TestContext } from '../helpers/context.ts';
import { flatJpeg } from '../helpers/images.ts';
import { addPhoto, tempDir } from './helpers.ts';

let ctx: TestContext;
let out: string;
let browser: Browser;
beforeAll(async () => {
  ctx = createTestContext();
  out = tempDir();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  ctx.dispose();
  rmSync(out, { recursive: true, force: true });
});

describe('deep-zoom viewer', () => {
  it('shows who is on a clicked tile and flies to every tile of a searched supporter, offline', async () => {
    const colours = [
      { r: 200, g: 40, b: 40 },
      { r: 40, g: 160, b: 60 },
      { r: 40, g: 40, b: 200 },
    ];
    const names = ['Kim Ji-won', 'Alex Doe', '<b>Sam</b>'];
    for (const [i, c] of colours.entries()) {
      await addPhoto(
        ctx,
        await flatJpeg(c, 300, 300),
        { name: names[i] as string, handle: `h${i}` },
        { network: 'mastodon', url: `https://m.example/@h${i}/1` },
      );
    }
    const result = await buildMosaic(
      { db: ctx.db, mediaDir: ctx.settings.mediaDir },
      { out: join(out, 'm.jpg'), grid: { cols: 3, rows: 3 }, width: 600, deepZoom: true },
    );
    const centre = result.manifest.cells[4];
    const centrePost = result.manifest.posts.find((p) => p.postId === centre?.postId);

    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) foreign.push(r.url());
    });
    await page.goto(pathToFileURL(join(result.files.viewer as string, 'index.html')).href);
    await page.waitForLoadState('networkidle');

    // The home view centres the mosaic: the middle of the screen is the middle cell.
    await page.mouse.click(400, 300);
    await expect.poll(() => page.locator('#panel').isVisible()).toBe(true);
    expect(await page.locator('#who').textContent()).toBe(centrePost?.author);
    expect(await page.locator('#more a').getAttribute('href')).toBe(centrePost?.url);

    await page.fill('#q', '@h2');
    await page.press('#q', 'Enter');
    const sam = result.manifest.posts.find((p) => p.author === '<b>Sam</b>');
    await expect.poll(() => page.locator('#found').textContent()).toContain(`${sam?.cells.length} tile`);
    await page.locator('#found button').first().click();
    // A name is text, never markup.
    expect(await page.locator('#who').textContent()).toBe('<b>Sam</b>');
    await page.waitForTimeout(900);
    await page.screenshot({ path: outputPath('mosaic-viewer.png') });
    expect(foreign).toEqual([]);
    await page.close();
  });
});
