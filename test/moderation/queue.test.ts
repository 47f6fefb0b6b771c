import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../src/auth/auth.ts';
import type { AdminPost } from '../../src/posts/post-queries.ts';
import { launchChromium } from '../helpers/browser.ts';
import { photoJpeg } from '../helpers/images.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let alice: string;
let bob: string;
let n = 0;

async function pending(text = 'I stand for peace') {
  n++;
  const result = await server.ctx.ingest.ingest({
    network: 'x',
    remoteId: `q${n}`,
    url: `https://x.com/u${n}/status/q${n}`,
    text: `${text} ${n}`,
    language: 'en',
    postedAt: new Date(Date.UTC(2026, 10, 21, 9, n)),
    author: { remoteId: `u${n}`, handle: `u${n}`, name: `User ${n}`, profileUrl: null, avatarUrl: null },
    media: [{ bytes: await photoJpeg(1200 + n, 160, 120), alt: null }],
    sourceId: 'x',
  });
  return result.postId as number;
}

const api = (path: string, cookie: string, body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { cookie, origin: server.url, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const wallIds = async () =>
  (await (await fetch(`${server.url}/api/wall?limit=100`)).json()).posts.map((p: { id: number }) => p.id);

beforeAll(async () => {
  server = await startTestServer();
  const auth = createAuthService(server.ctx.db);
  await auth.addOrganizer('alice', 'alice password long', 'admin');
  await auth.addOrganizer('bob', 'bob password is long', 'moderator');
  alice = await login(server.url, 'alice', 'alice password long');
  bob = await login(server.url, 'bob', 'bob password is long');
});
afterAll(() => server.close());

describe('moderation through the JSON API', () => {
  it('approve puts a post on the wall; reject and remove take it off; remove deletes its files', async () => {
    const id = await pending();
    expect(await wallIds()).not.toContain(id);
    const approved = await api(`/api/admin/posts/${id}/approve`, bob, {});
    expect(approved.status).toBe(200);
    expect(await wallIds()).toContain(id);
    await api(`/api/admin/posts/${id}/reject`, bob, {});
    expect(await wallIds()).not.toContain(id);
    await api(`/api/admin/posts/${id}/approve`, bob, {});
    const files = server.ctx.db.$client
      .prepare('select original_path from media where post_id = ?')
      .pluck()
      .all(id) as string[];
    expect(files.every((f) => existsSync(join(server.ctx.settings.mediaDir, f)))).toBe(true);
    const removed = await api(`/api/admin/posts/${id}/remove`, alice, { note: 'takedown request by e-mail' });
    expect(removed.status).toBe(200);
    expect(await wallIds()).not.toContain(id);
    expect(files.some((f) => existsSync(join(server.ctx.settings.mediaDir, f)))).toBe(false);
    const again = await api(`/api/admin/posts/${id}/approve`, alice, {});
    expect(again.status).toBe(409);
    const { history } = await (await api(`/api/admin/posts/${id}`, alice)).json();
    expect(history.map((h: { action: string }) => h.action)).toEqual([
      'remove',
      'approve',
      'reject',
      'approve',
    ]);
    expect(history[0]).toMatchObject({
      organizer: 'alice',
      note: 'takedown request by e-mail',
      toStatus: 'removed',
    });
  });

  it('lists the queue newest first with filters', async () => {
    const a = await pending('End the Korean War');
    const b = await pending('nothing in particular');
    const { posts } = await (await api('/api/admin/posts?status=pending', bob)).json();
    expect(posts.slice(0, 2).map((p: AdminPost) => p.id)).toEqual([b, a]);
    const byDemand = await (await api('/api/admin/posts?status=pending&demand=end-war', bob)).json();
    expect(byDemand.posts.map((p: AdminPost) => p.id)).toEqual([a]);
    const byText = await (await api(`/api/admin/posts?q=${encodeURIComponent('particular')}`, bob)).json();
    expect(byText.posts.map((p: AdminPost) => p.id)).toEqual([b]);
    const bad = await api('/api/admin/posts?status=maybe', bob);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^status: /);
  });

  it('when two moderators act on one post, the second sees the change and nothing is applied twice', async () => {
    const id = await pending();
    const [first, second] = await Promise.all([
      api(`/api/admin/posts/${id}/approve`, alice, { expectedStatus: 'pending' }),
      api(`/api/admin/posts/${id}/reject`, bob, { expectedStatus: 'pending' }),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 409]);
    const loser = first.status === 409 ? await first.json() : await second.json();
    expect(loser.error).toMatch(/another moderator changed this post/);
    expect(['approved', 'rejected']).toContain(loser.post.status);
    const same = await api(
      `/api/admin/posts/${id}/${loser.post.status === 'approved' ? 'approve' : 'reject'}`,
      bob,
      {},
    );
    expect((await same.json()).changed).toBe(false);
    const events = server.ctx.db.$client
      .prepare('select count(*) from moderation_events where post_id = ?')
      .pluck()
      .get(id);
    expect(events).toBe(1);
  });

  it('undo is a new event that restores the previous state', async () => {
    const id = await pending();
    const { eventId } = await (await api(`/api/admin/posts/${id}/feature`, bob, {})).json();
    expect(await wallIds()).toContain(id);
    const undone = await api(`/api/admin/events/${eventId}/undo`, bob, {});
    expect(undone.status).toBe(200);
    expect(await wallIds()).not.toContain(id);
    const { post, history } = await (await api(`/api/admin/posts/${id}`, bob)).json();
    expect(post).toMatchObject({ status: 'pending', featured: false });
    expect(history.map((h: { action: string }) => h.action)).toEqual(['undo', 'feature']);
  });

  it('applies rules at ingest and names them: trusted author, blocked author, blocked word', async () => {
    const trusted = await pending();
    const { post } = await (await api(`/api/admin/posts/${trusted}`, bob)).json();
    await api(`/api/admin/authors/${post.authorId}/trust`, bob, {});
    const rule = await api('/api/admin/rules', alice, { value: 'buy followers' });
    expect(rule.status).toBe(201);
    const spam = await pending('Cheap!! BUY   followers now');
    const rows = server.ctx.db.$client
      .prepare(
        'select p.id, p.status, e.rule from posts p join moderation_events e on e.post_id = p.id where p.id = ?',
      )
      .all(spam);
    expect(rows).toEqual([{ id: spam, status: 'rejected', rule: 'blocked word "buy followers"' }]);
    const words = await api('/api/admin/rules', bob, { value: 'x' });
    expect(words.status).toBe(403);
  });

  it('counts supporters per region against the goals', async () => {
    const id = await pending();
    await api(`/api/admin/posts/${id}/approve`, bob, {});
    await api(`/api/admin/posts/${id}/region`, bob, { region: 'KR' });
    const stats = await (await api('/api/admin/stats', bob)).json();
    const korea = stats.goals.find((g: { region: string }) => g.region === 'KR');
    expect(korea).toMatchObject({ target: 1000 });
    expect(korea.supporters).toBeGreaterThanOrEqual(1);
    const dashboard = await api('/admin/dashboard', bob);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toMatch(/\/ 1,000/);
  });
});

describe('the queue in Chromium', () => {
  it('logs in, approves with the keyboard, selects the next post, and undo restores it', async () => {
    const older = await pending('older post');
    const newer = await pending('newer post');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${server.url}/admin`);
      await page.waitForURL(/\/admin\/login/);
      await page.fill('input[name=username]', 'bob');
      await page.fill('input[name=password]', 'bob password is long');
      await page.click('button[type=submit]');
      await page.waitForSelector(`#queue li[data-id="${newer}"]`);
      expect(await page.locator('#queue li.current').getAttribute('data-id')).toBe(String(newer));

      await page.keyboard.press('a');
      await page.waitForSelector(`#queue li[data-id="${newer}"]`, { state: 'detached' });
      expect(await page.locator('#queue li.current').getAttribute('data-id')).toBe(String(older));
      expect(await wallIds()).toContain(newer);

      await page.keyboard.press('u');
      await page.waitForSelector(`#queue li[data-id="${newer}"]`);
      expect(await page.locator('#queue li.current').getAttribute('data-id')).toBe(String(newer));
      expect(await wallIds()).not.toContain(newer);

      // A moderator sets the region that the goal counter counts the supporter in.
      await page.selectOption(`#queue li[data-id="${newer}"] select.region`, 'KR');
      await page.waitForFunction(() =>
        document.querySelector('#message')?.textContent?.includes('region KR'),
      );
      expect(server.ctx.db.$client.prepare('select region from posts where id = ?').pluck().get(newer)).toBe(
        'KR',
      );

      // A post arriving while the page is open shows up without a reload.
      const live = await pending('arrived live');
      // Generous: the whole suite runs beside it on two cores.
      await page.waitForSelector(`#queue li[data-id="${live}"]`, { timeout: 15_000 });
      await page.keyboard.press('j');
      await page.keyboard.press('r');
      await page.waitForFunction(() => document.querySelector('#message')?.textContent?.includes('rejected'));

      // On a phone the same page is usable.
      await page.setViewportSize({ width: 390, height: 844 });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(390);
    } finally {
      await browser.close();
    }
  });
});
