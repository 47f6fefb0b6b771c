import type { Campaign } from '../config/campaign.ts';
import { compactForMatching } from './demands.ts';

/** The first region rule that the post's language or hashtags satisfy, else null (unknown). */
export function regionFor(campaign: Campaign, language: string | null, hashtags: string[]): string | null {
  const lang = language?.toLowerCase().split(/[-_]/)[0] ?? null;
  const tags = new Set(hashtags.map(compactForMatching));
  for (const rule of campaign.regionRules) {
    if (lang && rule.languages.some((l) => l.toLowerCase() === lang)) return rule.region;
    if (rule.hashtags.some((h) => tags.has(compactForMatching(h)))) return rule.region;
  }
  return null;
}
