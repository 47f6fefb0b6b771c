import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../src/auth/auth.ts';
import { createModeration } from '../../src/moderation/moderation.ts';
import type { ApiPost } from '../../src/posts/post-queries.ts';
import { photoJpeg } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const ids: number[] = [];

async function ingest(i: number, approve: boolean) {
  const result = await server.ctx.ingest.ingest(
    {
      network: 'bluesky',
      remoteId: `at://did:plc:test/app.bsky.feed.post/${i}`,
      url: `https://bsky.app/profile/p${i}.test/post/${i}`,
      text: `End the Korean War ${i}`,
      language: 'ko',
      postedAt: new Date(Date.UTC(2026, 10, 20, 10, i)),
      author: {
        remoteId: `did:plc:p${i}`,
        handle: `p${i}.test`,
        name: `P ${i}`,
        profileUrl: null,
        avatarUrl: null,
      },
      media: [{ bytes: await photoJpeg(900 + i, 200, 150), alt: `alt ${i}` }],
      sourceId: 'bluesky',
    },
    approve ? { approveBy: 'test' } : {},
  );
  return result.postId as number;
}

/** Reads an SSE response until `count` events arrived (or the time is up). */
async function readEvents(response: Response, count: number, ms = 3000) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: Array<{ id?: string; event?: string; data?: string }> = [];
  const deadline = Date.now() + ms;
  while (events.length < count && Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now())),
    ]);
    if (!chunk || chunk.done) break;
    text += decoder.decode(chunk.value);
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const m = /^(id|event|data): (.*)$/.exec(line);
        if (m) event[m[1] as string] = m[2] as string;
      }
      if (event.event) events.push(event);
      end = text.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

beforeAll(async () => {
  server = await startTestServer();
  for (let i = 0; i < 5; i++) ids.push(await ingest(i, true));
  await ingest(99, false);
});
afterAll(() => server.close());

describe('GET /api/wall', () => {
  it('lists approved posts newest first in the public shape, paginated by cursor', async () => {
    const first = await (await fetch(`${server.url}/api/wall?limit=3`)).json();
    expect(first.posts.map((p: ApiPost) => p.id)).toEqual([ids[4], ids[3], ids[2]]);
    const post = first.posts[0] as ApiPost & Record<string, unknown>;
    expect(post).toMatchObject({
      network: 'bluesky',
      demands: ['end-war'],
      status: 'approved',
      author: { name: 'P 4', handle: 'p4.test', url: null, avatarUrl: null },
    });
    expect(post.media[0]).toMatchObject({ width: 200, height: 150, alt: 'alt 4' });
    expect(post.media[0]?.url).toMatch(/^\/media\/[0-9a-f]{2}\/[0-9a-f]{64}\/wall\.webp$/);
    expect(post).not.toHaveProperty('consentPrint');
    const second = await (await fetch(`${server.url}/api/wall?limit=3&after=${first.next}`)).json();
    expect(second.posts.map((p: ApiPost) => p.id)).toEqual([ids[1], ids[0]]);
    expect(second.next).toBeNull();
  });

  it('serves approved photos publicly and immutably, and hides pending ones', async () => {
    const { posts } = await (await fetch(`${server.url}/api/wall?limit=1`)).json();
    const image = await fetch(`${server.url}${posts[0].media[0].url}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/webp');
    expect(image.headers.get('cache-control')).toContain('immutable');
    const pending = server.ctx.db.$client
      .prepare("select wall_path from media m join posts p on p.id = m.post_id where p.status = 'pending'")
      .pluck()
      .get();
    expect((await fetch(`${server.url}/media/${pending}`)).status).toBe(404);
    expect((await fetch(`${server.url}/media/../standwall.db`)).status).toBe(404);
  });

  it('names a bad parameter', async () => {
    const response = await fetch(`${server.url}/api/wall?limit=5000`);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/limit/);
    expect((await fetch(`${server.url}/api/wall?after=garbage`)).status).toBe(400);
  });
});

describe('GET /api/wall/stream', () => {
  it('replays what a wall missed after Last-Event-ID, one event per post, then goes live', async () => {
    const { lastEventId } = await (await fetch(`${server.url}/api/wall?limit=1`)).json();
    const organizer = await createAuthService(server.ctx.db).addOrganizer(
      'streamer',
      'long enough password',
      'moderator',
    );
    const moderation = createModeration(server.ctx);
    await moderation.decide(ids[0] as number, 'reject', { organizerId: organizer.id });
    const late = await ingest(50, true);
    await moderation.decide(late, 'feature', { organizerId: organizer.id });

    const response = await fetch(`${server.url}/api/wall/stream`, {
      headers: { 'last-event-id': String(lastEventId) },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const events = await readEvents(response, 3);
    expect(events.map((e) => e.event)).toEqual(['remove', 'post', 'stats']);
    expect(JSON.parse(events[0]?.data ?? '{}')).toEqual({ id: ids[0] });
    const post = JSON.parse(events[1]?.data ?? '{}');
    expect(post).toMatchObject({ id: late, featured: true });
    for (const e of events) expect(Number(e.id)).toBeGreaterThan(lastEventId);

    const live = await fetch(`${server.url}/api/wall/stream?lastEventId=${events[1]?.id}`);
    const next = readEvents(live, 2, 5000);
    await moderation.decide(ids[1] as number, 'reject', { organizerId: organizer.id });
    const got = await next;
    expect(got.map((e) => e.event)).toEqual(['stats', 'remove']);
    expect(JSON.parse(got[1]?.data ?? '{}')).toEqual({ id: ids[1] });
  });
});
