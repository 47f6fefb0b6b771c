import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { authors, rules } from '../db/schema.ts';
import type { Db } from '../db/sqlite.ts';
import { compactForMatching } from '../ingest/demands.ts';

export const blockedWordSchema = z
  .string()
  .trim()
  .min(2, 'a blocked word needs at least 2 characters')
  .max(100, 'a blocked word is at most 100 characters');

export function listBlockedWords(db: Db) {
  return db.select().from(rules).where(eq(rules.kind, 'blocked-word')).orderBy(rules.value).all();
}

export function addBlockedWord(db: Db, word: string, organizerId: number | null) {
  const value = blockedWordSchema.parse(word);
  return db
    .insert(rules)
    .values({ kind: 'blocked-word', value, organizerId })
    .onConflictDoNothing()
    .returning()
    .get();
}

export function deleteRule(db: Db, id: number): boolean {
  return db.delete(rules).where(eq(rules.id, id)).run().changes > 0;
}

/**
 * A function giving the blocked word a text contains (case-, spacing- and punctuation-
 * insensitive), or null. Its query is prepared once: ingest asks for every post, and building the
 * query each time cost more than running it. The rules are still read on every call, so a word
 * blocked a moment ago applies to the next post.
 */
export function blockedWordFinder(db: Db): (text: string) => string | null {
  const words = db
    .select({ value: rules.value })
    .from(rules)
    .where(eq(rules.kind, 'blocked-word'))
    .orderBy(rules.value)
    .prepare();
  return (text) => {
    const haystack = compactForMatching(text);
    if (!haystack) return null;
    for (const rule of words.all()) {
      const needle = compactForMatching(rule.value);
      if (needle && haystack.includes(needle)) return rule.value;
    }
    return null;
  };
}

export function setAuthorFlag(
  db: Db,
  authorId: number,
  flag: 'trusted' | 'blocked',
  value: boolean,
): boolean {
  // Trusting a blocked author unblocks them and vice versa: the two cannot both hold.
  const set =
    flag === 'trusted'
      ? { trusted: value, ...(value ? { blocked: false } : {}) }
      : { blocked: value, ...(value ? { trusted: false } : {}) };
  return (
    db
      .update(authors)
      .set(set)
      .where(and(eq(authors.id, authorId)))
      .run().changes > 0
  );
}
