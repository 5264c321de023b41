import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './process.js';

/**
 * What the browser specs share. Chromium comes from `apt-get install chromium` (.ci/run does it);
 * without it the specs are skipped with a warning, unless REQUIRE_BROWSER_TESTS=1 (set by .ci/run)
 * makes that a failure.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.REQUIRE_BROWSER_TESTS === '1') throw new Error(`browser tests required but ${CHROMIUM} is missing: apt-get install chromium`);
if (!available) process.stderr.write(`WARNING: ${CHROMIUM} not found: browser tests skipped (apt-get install chromium)\n`);

/** `describe` when Chromium is there, `describe.skip` when it is not. */
export const describeInBrowser = available ? describe : describe.skip;

/** Where the specs put their screenshots and downloads (created on first use). */
export const ARTIFACTS = join(ROOT, 'test', 'artifacts');

/** Headless Chromium, started as this machine allows (no sandbox as root, no background network calls), and the artifacts folder. */
export function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
