import { createHash } from 'node:crypto';
import type { Campaign } from '../config/campaign.ts';

/** X refuses recent-search queries longer than this (standard and pay-per-use access). */
export const X_MAX_QUERY_LENGTH = 512;

/**
 * Appended to every query: photos only, and no retweets (a retweet is someone else's photo
 * again). Both operators need a standalone term beside them, which the OR group provides.
 */
export const X_QUERY_SUFFIX = ' has:images -is:retweet';

/** The campaign's hashtags and demand phrases (every language) as X search terms, deduplicated. */
export function searchTerms(campaign: Campaign): string[] {
  const terms: string[] = [];
  const seen = new Set<string>();
  const add = (term: string) => {
    const key = term.toLocaleLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    terms.push(term);
  };
  for (const tag of campaign.hashtags) add(`#${tag}`);
  for (const demand of campaign.demands) {
    for (const phrases of Object.values(demand.phrases)) {
      for (const phrase of phrases) {
        // A double quote would end X's exact-phrase operator early; whitespace runs are one space to X.
        const clean = phrase.replace(/"/g, ' ').replace(/\s+/g, ' ').trim();
        if (clean.length >= 2) add(`"${clean}"`);
      }
    }
  }
  return terms;
}

function assemble(terms: string[]): string {
  const group = terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`;
  return `${group}${X_QUERY_SUFFIX}`;
}

/**
 * Packs the terms into as few queries as fit X's length limit, in configuration order, so the
 * query texts (and the since_id cursors keyed by them) stay stable while the config does.
 */
export function buildQueries(campaign: Campaign, maxLength = X_MAX_QUERY_LENGTH): string[] {
  const queries: string[] = [];
  let current: string[] = [];
  for (const term of searchTerms(campaign)) {
    if (assemble([term]).length > maxLength) {
      throw new Error(`the search term ${term} alone exceeds X's ${maxLength}-character query limit`);
    }
    if (current.length > 0 && assemble([...current, term]).length > maxLength) {
      queries.push(assemble(current));
      current = [];
    }
    current.push(term);
  }
  if (current.length > 0) queries.push(assemble(current));
  return queries;
}

/** Cursor key of one query's since_id: a change in the query text starts a fresh cursor. */
export function sinceCursorKey(query: string): string {
  return `since:${createHash('sha256').update(query).digest('hex').slice(0, 16)}`;
}
