#!/usr/bin/env node
// Runs before `npm start` and `npm test` (their pre-scripts), so that both work on a fresh
// clone: installs the locked dependencies when node_modules is missing or was installed
// from a different package-lock.json. Plain Node on purpose: nothing is installed yet.
const { createHash } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const stamp = path.join(root, 'node_modules', '.installed-from-lock');
const wanted = createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
const installed = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : '';

if (installed !== wanted) {
  console.log('[deps] installing the locked npm dependencies (npm ci)...');
  const started = Date.now();
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(stamp, `${wanted}\n`);
  console.log(`[deps] installed in ${Math.round((Date.now() - started) / 1000)} s`);
}
