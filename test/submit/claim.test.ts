import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../src/auth/auth.ts';
import { instagramCode } from '../../src/moderation/claims.ts';
import { photoJpeg } from '../helpers/images.ts';
import { login, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

async function collectInstagram(code: string) {
  const result = await server.ctx.ingest.ingest({
    network: 'instagram',
    remoteId: `ig-${code}`,
    url: `https://www.instagram.com/p/${code}/`,
    text: '#IStandForPeace',
    language: null,
    postedAt: new Date(),
    author: {
      remoteId: `instagram:unknown:ig-${code}`,
      handle: null,
      name: 'Instagram supporter',
      profileUrl: null,
      avatarUrl: null,
    },
    media: [{ bytes: await photoJpeg(code.length * 97 + code.charCodeAt(0), 120, 90), alt: null }],
    sourceId: 'instagram',
  });
  return result.postId as number;
}

const claim = (fields: Record<string, string>) =>
  fetch(`${server.url}/submit/claim`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ consent: 'on', region: 'KR', ...fields }),
  });

const authorOf = (postId: number) =>
  server.ctx.db.$client
    .prepare(
      'select a.name, a.handle, p.region, p.consent_print as consent from posts p join authors a on a.id = p.author_id where p.id = ?',
    )
    .get(postId);

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('claiming an Instagram post', () => {
  it('reads the short code of every form of post link', () => {
    expect(instagramCode('https://www.instagram.com/p/C0dE_x-1/')).toBe('C0dE_x-1');
    expect(instagramCode('https://instagram.com/reel/AbCdE12?igsh=xyz')).toBe('AbCdE12');
    expect(instagramCode('https://www.instagram.com/someone/p/AbCdE12/')).toBe('AbCdE12');
    expect(instagramCode('https://evil.example/p/AbCdE12/')).toBeNull();
    expect(instagramCode('not a link')).toBeNull();
  });

  it('names an already collected post at once', async () => {
    const postId = await collectInstagram('Already1');
    const response = await claim({
      link: 'https://www.instagram.com/p/Already1/?utm=x',
      name: '이서연',
      handle: '@seoyeon',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/submit/thanks?claimed=1');
    expect(authorOf(postId)).toEqual({ name: '이서연', handle: '@seoyeon', region: 'KR', consent: 1 });
  });

  it('waits for a post not collected yet and names it when it arrives', async () => {
    await claim({ link: 'https://www.instagram.com/p/Later22/', name: 'Sam Lee' });
    const postId = await collectInstagram('Later22');
    expect(authorOf(postId)).toMatchObject({ name: 'Sam Lee', region: 'KR' });
    const events = server.ctx.db.$client
      .prepare('select action, rule from moderation_events where post_id = ?')
      .all(postId);
    expect(events).toEqual([{ action: 'claim', rule: 'claimed by the supporter' }]);
  });

  it('refuses a link that is not an Instagram post, storing nothing', async () => {
    const before = server.ctx.db.$client.prepare('select count(*) from claims').pluck().get();
    const response = await fetch(`${server.url}/submit/claim`, {
      method: 'POST',
      headers: {
        origin: server.url,
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ consent: 'on', name: 'X', link: 'https://example.com/p/abcdef/' }),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/^link: /);
    expect(server.ctx.db.$client.prepare('select count(*) from claims').pluck().get()).toBe(before);
  });

  it('lets a moderator name an unnamed supporter', async () => {
    const postId = await collectInstagram('Unnamed9');
    await createAuthService(server.ctx.db).addOrganizer('mod', 'moderator password', 'moderator');
    const cookie = await login(server.url, 'mod', 'moderator password');
    const authorId = server.ctx.db.$client
      .prepare('select author_id from posts where id = ?')
      .pluck()
      .get(postId);
    const response = await fetch(`${server.url}/api/admin/authors/${authorId}/name`, {
      method: 'POST',
      headers: { cookie, origin: server.url, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Jordan from the rally' }),
    });
    expect(response.status).toBe(200);
    expect(authorOf(postId)).toMatchObject({ name: 'Jordan from the rally' });
  });
});
