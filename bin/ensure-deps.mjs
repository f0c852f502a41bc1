#!/usr/bin/env node
// Installs the npm packages when node_modules is missing or older than package-lock.json, so that
// `npm test` and `npm run demo` work on a fresh clone by themselves. Uses only Node built-ins.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  // `npm install`, not `npm ci`: both install the locked versions, but `npm ci` also demands lock
  // entries for every platform's optional binaries (msgpackr-extract for macOS and Windows), which a
  // registry mirror without them cannot provide; `npm install` skips optional packages it cannot get.
  process.stderr.write('hub: installing npm packages (npm install, locked versions)…\n');
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
