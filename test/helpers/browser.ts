import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ROOT } from './cli.ts';

/** Debian's Chromium, headless, with no traffic of its own (background networking off). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Where tests write screenshots for people to look at. */
export function outputPath(name: string): string {
  const dir = join(ROOT, 'test-output');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
