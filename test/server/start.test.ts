import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.ts';

let dataDir: string;
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** Sources point at a closed loopback port: the test never reaches the Internet. */
const offlineCampaign = {
  sources: {
    x: { baseUrl: 'http://127.0.0.1:9' },
    mastodon: { instances: ['http://127.0.0.1:9'] },
    bluesky: { serviceUrl: 'http://127.0.0.1:9' },
  },
};

describe('npm start', () => {
  it('migrates a fresh data folder, serves /healthz, and stops cleanly on SIGTERM and SIGINT', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'standwall-start-'));
    const config = join(dataDir, 'campaign.json');
    writeFileSync(config, JSON.stringify(offlineCampaign));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = startCli('start', [], { DATA_DIR: dataDir, CAMPAIGN_CONFIG: config, PORT: '0' });
      let stdout = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout?.on('data', (d) => {
          stdout += d;
          const m = /running at (http:\/\/[^/\s]+)\//.exec(stdout);
          if (m?.[1]) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const response = await fetch(`${url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ ok: true, campaign: 'peace-korean-peninsula', posts: 0 });
      const home = await (await fetch(`${url}/`)).text();
      expect(home).toContain('href="/wall"');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      expect(await exited).toBe(0);
    }
    const db = new Database(join(dataDir, 'standwall.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare("select count(*) from sqlite_master where name = 'posts'").pluck().get()).toBe(1);
    db.close();
  });

  it('refuses to start with a bad campaign file, naming the field', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'standwall-start-'));
    const config = join(dataDir, 'campaign.json');
    writeFileSync(config, JSON.stringify({ hashtags: [] }));
    const child = startCli('start', [], { DATA_DIR: dataDir, CAMPAIGN_CONFIG: config, PORT: '0' });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/hashtags: /);
  });
});
