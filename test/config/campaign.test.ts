import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadCampaign, parseCampaign } from '../../src/config/campaign.ts';
import { readSettings } from '../../src/config/env.ts';

const configDirs: string[] = [];
afterAll(() => {
  for (const dir of configDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'standwall-config-'));
  configDirs.push(dir);
  const file = join(dir, 'campaign.json');
  writeFileSync(file, content);
  return file;
}

describe('the built-in campaign', () => {
  const campaign = loadCampaign(undefined);

  it('is the Korean Peninsula peace campaign in English and Korean', () => {
    expect(campaign.title.en).toBe('I Stand for Peace on the Korean Peninsula');
    expect(campaign.languages).toEqual(['en', 'ko']);
    expect(campaign.hashtags).toEqual(
      expect.arrayContaining(['IStandForPeace', 'PeaceOnKoreanPeninsula', 'EndTheKoreanWar', '한반도평화']),
    );
  });

  it('has the four demands, each with English and Korean phrasings', () => {
    expect(campaign.demands.map((d) => d.id)).toEqual([
      'end-sanctions',
      'stop-drills',
      'end-war',
      'peace-now',
    ]);
    for (const demand of campaign.demands) {
      expect(demand.phrases.en?.length).toBeGreaterThan(0);
      expect(demand.phrases.ko?.length).toBeGreaterThan(0);
    }
    expect(campaign.demands[1]?.phrases.en).toContain('Stop the U.S.-South Korea Joint Military Exercises');
  });

  it('aims at 200 supporters in the US and 1,000 in Korea before a deadline', () => {
    expect(campaign.goals.map((g) => [g.region, g.target])).toEqual([
      ['US', 200],
      ['KR', 1000],
    ]);
    expect(campaign.deadline).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('has every source with its base URL and a default cadence of two minutes', () => {
    expect(campaign.sources.x.baseUrl).toBe('https://api.x.com');
    expect(campaign.sources.mastodon.instances).toEqual(['https://mastodon.social']);
    expect(campaign.sources.bluesky.serviceUrl).toBe('https://bsky.social');
    expect(campaign.sources.imap.folder).toBe('INBOX');
    expect(campaign.sources.x.schedule).toBe('*/2 * * * *');
  });
});

describe('a campaign file (CAMPAIGN_CONFIG)', () => {
  it('overrides the default field by field', () => {
    const campaign = loadCampaign(
      configFile(
        JSON.stringify({
          sources: { mastodon: { instances: ['http://127.0.0.1:9999/'] }, x: { enabled: false } },
        }),
      ),
    );
    expect(campaign.sources.mastodon.instances).toEqual(['http://127.0.0.1:9999']);
    expect(campaign.sources.x.enabled).toBe(false);
    expect(campaign.sources.x.baseUrl).toBe('https://api.x.com');
    expect(campaign.hashtags).toContain('IStandForPeace');
  });

  it('stops with a message naming the field and the problem', () => {
    const file = configFile(JSON.stringify({ goals: [{ region: 'usa', label: { en: 'US' }, target: -5 }] }));
    expect(() => loadCampaign(file)).toThrow(ConfigError);
    try {
      loadCampaign(file);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain(file);
      expect(message).toMatch(/goals\.0\.region: must be an ISO 3166 alpha-2 code/);
      expect(message).toMatch(/goals\.0\.target/);
    }
  });

  it('refuses a bad base URL, a bad schedule and a duplicated demand id', () => {
    expect(() => parseCampaign({ sources: { bluesky: { serviceUrl: 'ftp://example' } } })).toThrow(
      /sources\.bluesky\.serviceUrl: must start with http/,
    );
    expect(() => parseCampaign({ sources: { x: { schedule: 'every minute' } } })).toThrow(
      /sources\.x\.schedule/,
    );
    expect(() =>
      parseCampaign({
        demands: [
          { id: 'a', phrases: { en: ['Peace now'] } },
          { id: 'a', phrases: { en: ['War no more'] } },
        ],
      }),
    ).toThrow(/id "a" is used twice/);
  });

  it('reports a file that is not JSON or not there', () => {
    expect(() => loadCampaign(configFile('{ nope'))).toThrow(/is not valid JSON/);
    expect(() => loadCampaign('/nonexistent/campaign.json')).toThrow(/Cannot read CAMPAIGN_CONFIG/);
  });
});

describe('the environment', () => {
  it('defaults to port 3000 on 127.0.0.1 with data in ./data', () => {
    const settings = readSettings({});
    expect(settings.port).toBe(3000);
    expect(settings.host).toBe('127.0.0.1');
    expect(settings.dbFile).toMatch(/data[/\\]standwall\.db$/);
    expect(settings.allowPrivateMedia).toBe(false);
  });

  it('names a bad variable', () => {
    expect(() => readSettings({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => readSettings({ STANDWALL_ALLOW_PRIVATE_MEDIA: 'yes' })).toThrow(
      /STANDWALL_ALLOW_PRIVATE_MEDIA/,
    );
  });
});
