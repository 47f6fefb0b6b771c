import { and, desc, eq, sql } from 'drizzle-orm';
import type { Campaign } from '../config/campaign.ts';
import { posts, sourceRuns } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';

export interface GoalProgress {
  region: string;
  label: string;
  target: number;
  supporters: number;
}

/**
 * Supporters are distinct people with an approved photo. A person's region is the one of
 * their most recent approved post that has a region (config rules at ingest, the upload
 * form's answer, or a moderator's override).
 */
export function supporterCounts(db: Db): { total: number; byRegion: Map<string, number> } {
  const rows = db.all<{ region: string | null; n: number }>(sql`
    with people as (
      select p.author_id,
             (select p2.region from posts p2
               where p2.author_id = p.author_id and p2.status = 'approved' and p2.region is not null
               order by p2.posted_at desc limit 1) as region
        from posts p
       where p.status = 'approved'
         and exists (select 1 from media m where m.post_id = p.id and m.state = 'stored')
       group by p.author_id
    )
    select region, count(*) as n from people group by region`);
  const byRegion = new Map<string, number>();
  let total = 0;
  for (const row of rows) {
    total += row.n;
    byRegion.set(row.region ?? '', row.n);
  }
  return { total, byRegion };
}

export function goalProgress(db: Db, campaign: Campaign, language = 'en'): GoalProgress[] {
  const { byRegion } = supporterCounts(db);
  return campaign.goals.map((goal) => ({
    region: goal.region,
    label: goal.label[language] ?? goal.label.en ?? goal.region,
    target: goal.target,
    supporters: byRegion.get(goal.region) ?? 0,
  }));
}

export function statusCounts(db: Db): Record<string, number> {
  const rows = db
    .select({ status: posts.status, n: sql<number>`count(*)` })
    .from(posts)
    .groupBy(posts.status)
    .all();
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface SourceHealth {
  sourceId: string;
  lastRunAt: string | null;
  lastStatus: string | null;
  lastMessage: string | null;
  newPostsLastRun: number;
  newPosts24h: number;
  errors24h: number;
  runs24h: number;
}

export function sourceHealth(db: Db, sourceIds: string[]): SourceHealth[] {
  const since = new Date(Date.now() - 24 * 3600_000).toISOString();
  return sourceIds.map((sourceId) => {
    const last = db
      .select()
      .from(sourceRuns)
      .where(eq(sourceRuns.sourceId, sourceId))
      .orderBy(desc(sourceRuns.id))
      .limit(1)
      .get();
    const day = db
      .select({
        runs: sql<number>`count(*)`,
        created: sql<number>`coalesce(sum(${sourceRuns.created}), 0)`,
        errors: sql<number>`coalesce(sum(${sourceRuns.errors}), 0)`,
      })
      .from(sourceRuns)
      .where(and(eq(sourceRuns.sourceId, sourceId), sql`${sourceRuns.startedAt} >= ${since}`))
      .get();
    return {
      sourceId,
      lastRunAt: last?.startedAt ?? null,
      lastStatus: last?.status ?? null,
      lastMessage: last?.message ?? null,
      newPostsLastRun: last?.created ?? 0,
      newPosts24h: day?.created ?? 0,
      errors24h: day?.errors ?? 0,
      runs24h: day?.runs ?? 0,
    };
  });
}
