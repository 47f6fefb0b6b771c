import type { Campaign } from '../config/campaign.ts';

/**
 * Letters and digits only, lower-cased and NFKC-folded: "#EndTheKoreanWar", "End the Korean
 * War!" and "end the korean war" all become "endthekoreanwar"; "U.S.-South Korea" and
 * "US South Korea" meet as well. Korean text is spaced in many ways by hand ("한미 연합
 * 군사훈련"), so dropping the spaces is what makes it match at all.
 */
export function compactForMatching(text: string): string {
  return text
    .normalize('NFKC')
    .toLocaleLowerCase('en-US')
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

export interface DemandMatcher {
  match(text: string): string[];
  hashtagsIn(text: string): string[];
}

export function createDemandMatcher(campaign: Campaign): DemandMatcher {
  const demands = campaign.demands.map((demand) => ({
    id: demand.id,
    needles: [...new Set(Object.values(demand.phrases).flat().map(compactForMatching))].filter(
      (needle) => needle.length >= 2,
    ),
  }));
  const hashtags = campaign.hashtags.map((tag) => ({ tag, folded: compactForMatching(tag) }));
  return {
    match(text) {
      const haystack = compactForMatching(text);
      return demands
        .filter((demand) => demand.needles.some((needle) => haystack.includes(needle)))
        .map((demand) => demand.id);
    },
    hashtagsIn(text) {
      const found = new Set<string>();
      for (const m of text.normalize('NFKC').matchAll(/[#＃]([\p{L}\p{N}_]+)/gu)) {
        const folded = compactForMatching(m[1] ?? '');
        for (const { tag, folded: wanted } of hashtags) if (folded === wanted) found.add(tag);
      }
      return [...found];
    },
  };
}
