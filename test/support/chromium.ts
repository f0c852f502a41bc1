import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: what the browser tests drive (playwright-core downloads no browser). */
export const chromiumPath = '/usr/bin/chromium';

/** A CJK font: without one Chromium draws every Chinese label as a box (a desktop has one; a CI image may not). */
const cjkFont = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';

/**
 * Installs Debian's `chromium` package and a CJK font when they are missing, so a fresh CI machine
 * (root, Debian) runs the browser tests with nothing but `npm test`. Elsewhere it says what to install.
 */
export function ensureChromium(): void {
  if (existsSync(chromiumPath) && existsSync(cjkFont)) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `${chromiumPath} or a CJK font is missing: install Debian's chromium and fonts-wqy-microhei packages and run the tests again`,
    );
  }
  process.stderr.write('browser tests: installing Debian chromium and fonts-wqy-microhei (apt-get)\n');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-wqy-microhei']]) {
    const result = spawnSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal ?? '?'})`);
  }
  if (!existsSync(chromiumPath)) throw new Error(`apt-get installed chromium but ${chromiumPath} is still missing`);
}

export function launchChromium(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
