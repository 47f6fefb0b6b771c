import { describe, expect, it } from 'vitest';
import { loadCampaign } from '../../src/config/campaign.ts';
import { createDemandMatcher } from '../../src/ingest/demands.ts';
import { regionFor } from '../../src/ingest/region.ts';

const campaign = loadCampaign(undefined);
const matcher = createDemandMatcher(campaign);

describe('demand matching', () => {
  it.each([
    ['End sanctions against North Korea!!', ['end-sanctions']],
    ['end   SANCTIONS against north-korea', ['end-sanctions']],
    ['#EndTheKoreanWar #IStandForPeace', ['end-war']],
    ['Stop the US–South Korea joint military exercises.', ['stop-drills']],
    ['STOP THE U.S.-SOUTH KOREA JOINT MILITARY EXERCISES', ['stop-drills']],
    ['한미연합 군사훈련 중단!', ['stop-drills']],
    ['한국 전쟁을 끝내자 #한반도평화', ['end-war']],
    ['Peace on the Korean Peninsula NOW ✌️ and end the Korean war', ['end-war', 'peace-now']],
    ['대북 제재 해제', ['end-sanctions']],
    ['Ｅｎｄ　ｔｈｅ　Ｋｏｒｅａｎ　Ｗａｒ', ['end-war']],
  ])('finds the demands in %j', (text, expected) => {
    expect(matcher.match(text).sort()).toEqual([...expected].sort());
  });

  it('finds nothing in unrelated text', () => {
    expect(matcher.match('Lovely day at the beach #sunset')).toEqual([]);
    expect(matcher.match('')).toEqual([]);
  });

  it('recognizes campaign hashtags whatever their case', () => {
    expect(matcher.hashtagsIn('#istandforpeace and #한반도평화 and #other').sort()).toEqual(
      ['IStandForPeace', '한반도평화'].sort(),
    );
  });
});

describe('region from config rules', () => {
  it('counts Korean posts and the Korean hashtag for Korea, others unknown', () => {
    expect(regionFor(campaign, 'ko', [])).toBe('KR');
    expect(regionFor(campaign, 'en', ['한반도평화'])).toBe('KR');
    expect(regionFor(campaign, 'en', ['IStandForPeace'])).toBeNull();
    expect(regionFor(campaign, null, [])).toBeNull();
  });
});
