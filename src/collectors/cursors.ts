import { and, eq, sql } from 'drizzle-orm';
import { sourceCursors } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';

/**
 * Per-source resume points. A collector writes a cursor only after every post up to it is
 * committed, so a run that dies anywhere resumes where the last complete pass ended.
 */
export function getCursor(db: Db, sourceId: string, key: string): string | null {
  const row = db
    .select({ value: sourceCursors.value })
    .from(sourceCursors)
    .where(and(eq(sourceCursors.sourceId, sourceId), eq(sourceCursors.key, key)))
    .get();
  return row?.value ?? null;
}

export function setCursor(db: Db, sourceId: string, key: string, value: string): void {
  db.insert(sourceCursors)
    .values({ sourceId, key, value })
    .onConflictDoUpdate({
      target: [sourceCursors.sourceId, sourceCursors.key],
      set: { value, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` },
    })
    .run();
}
