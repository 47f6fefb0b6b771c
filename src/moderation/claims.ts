import { and, eq, isNull, like, or } from 'drizzle-orm';
import { authors, claims, moderationEvents, posts } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';

/** The short code of an Instagram post link (…/p/CODE/, …/reel/CODE, with or without query). */
export function instagramCode(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if (!/(^|\.)instagram\.com$/i.test(parsed.hostname)) return null;
  const m = /^\/(?:[\w.]+\/)?(?:p|reel|reels|tv)\/([A-Za-z0-9_-]{5,64})\/?$/.exec(parsed.pathname);
  return m?.[1] ?? null;
}

export interface ClaimInput {
  code: string;
  name: string;
  handle?: string | null;
  region?: string | null;
  consent: boolean;
}

function findInstagramPost(db: Db, code: string) {
  return db
    .select({ id: posts.id, authorId: posts.authorId })
    .from(posts)
    .where(
      and(
        eq(posts.network, 'instagram'),
        or(
          like(posts.url, `%/p/${code}/%`),
          like(posts.url, `%/p/${code}`),
          like(posts.url, `%/reel/${code}%`),
        ),
      ),
    )
    .get();
}

function apply(db: Db, claimId: number, post: { id: number; authorId: number }, input: ClaimInput): void {
  db.transaction((tx) => {
    tx.update(authors)
      .set({ name: input.name, handle: input.handle ?? null, updatedAt: new Date().toISOString() })
      .where(eq(authors.id, post.authorId))
      .run();
    tx.update(posts)
      .set({
        ...(input.region ? { region: input.region } : {}),
        ...(input.consent ? { consentDisplay: true, consentPrint: true } : {}),
      })
      .where(eq(posts.id, post.id))
      .run();
    tx.update(claims)
      .set({ postId: post.id, appliedAt: new Date().toISOString() })
      .where(eq(claims.id, claimId))
      .run();
    tx.insert(moderationEvents)
      .values({
        postId: post.id,
        action: 'claim',
        rule: 'claimed by the supporter',
        note: `named "${input.name}"`,
      })
      .run();
  });
}

/** Records a claim and applies it now if the post is already collected. */
export function claimInstagramPost(db: Db, input: ClaimInput): { applied: boolean } {
  const claim = db
    .insert(claims)
    .values({
      network: 'instagram',
      code: input.code,
      name: input.name,
      handle: input.handle ?? null,
      region: input.region ?? null,
      consent: input.consent,
    })
    .returning({ id: claims.id })
    .get();
  const post = findInstagramPost(db, input.code);
  if (!post) return { applied: false };
  apply(db, claim.id, post, input);
  return { applied: true };
}

/** Applies waiting claims to a newly collected Instagram post. */
export function applyWaitingClaims(db: Db, postId: number, url: string | null): void {
  const code = url ? instagramCode(url) : null;
  if (!code) return;
  const waiting = db
    .select()
    .from(claims)
    .where(and(eq(claims.network, 'instagram'), eq(claims.code, code), isNull(claims.appliedAt)))
    .orderBy(claims.id)
    .all()
    .at(-1);
  const post = db
    .select({ id: posts.id, authorId: posts.authorId })
    .from(posts)
    .where(eq(posts.id, postId))
    .get();
  if (!waiting || !post) return;
  apply(db, waiting.id, post, { ...waiting, consent: waiting.consent });
}
