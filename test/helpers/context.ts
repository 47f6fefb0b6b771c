import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/env.ts';
import { type AppContext, createContext } from '../../src/context.ts';

export interface TestContext extends AppContext {
  dataDir: string;
  dispose(): void;
}

/** A real data directory (SQLite file + media) in a temp folder, with an optional campaign override. */
export function createTestContext(campaign: unknown = {}, env: Record<string, string> = {}): TestContext {
  const dataDir = mkdtempSync(join(tmpdir(), 'standwall-test-'));
  const configFile = join(dataDir, 'campaign.json');
  writeFileSync(configFile, JSON.stringify(campaign));
  // Photos in the main thread unless a test asks for the worker pool (MEDIA_WORKERS): most
  // contexts store a handful, and two workers starting for each would double their time.
  const ctx = createContext(
    readSettings({ DATA_DIR: dataDir, CAMPAIGN_CONFIG: configFile, MEDIA_WORKERS: '0', ...env }),
  );
  return {
    ...ctx,
    dataDir,
    dispose() {
      ctx.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
