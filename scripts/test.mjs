// npm test: build, unit tests (vitest), browser tests (node:test + Playwright in the system Chromium),
// then one closing line that counts both.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'test-results');
fs.mkdirSync(results, { recursive: true });

const run = (command, args, extra = {}) =>
  spawnSync(command, args, { cwd: root, stdio: 'inherit', ...extra }).status ?? 1;

if (run('npm', ['run', '--silent', 'build']) !== 0) {
  console.error('npm test: the build failed; fix it before the tests can run');
  process.exit(1);
}

// The browser tests use the same Chromium finder as the app's PDF export.
const { findChromium } = await import('../out/node/core/reports/chromium.js');
try {
  findChromium();
} catch (error) {
  console.error(
    `npm test needs Chromium for the browser tests (never \`npx playwright install\`): ${error.message}`,
  );
  process.exit(1);
}

const vitestJson = path.join(results, 'vitest.json');
fs.rmSync(vitestJson, { force: true });
const unitStatus = run('npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
]);
let unit = { passed: 0, failed: 0, skipped: 0 };
if (fs.existsSync(vitestJson)) {
  const report = JSON.parse(fs.readFileSync(vitestJson, 'utf8'));
  unit = {
    passed: report.numPassedTests,
    failed: report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0),
    skipped: report.numPendingTests + report.numTodoTests,
  };
} else if (unitStatus !== 0) {
  unit.failed = 1;
}

const specs = fs
  .readdirSync(path.join(root, 'tests', 'e2e'))
  .filter((f) => f.endsWith('.spec.mjs'))
  .sort()
  .map((f) => path.join('tests', 'e2e', f));
const tap = path.join(results, 'e2e.tap');
const e2eStatus = run(process.execPath, [
  '--test',
  '--test-concurrency=1',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tap}`,
  ...specs,
]);
const tapText = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
const tapCount = (key) => Number(tapText.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0);
const e2e = {
  passed: tapCount('pass'),
  failed: tapCount('fail') + tapCount('cancelled'),
  skipped: tapCount('skipped'),
};
if (e2eStatus !== 0 && e2e.failed === 0) e2e.failed = 1;

const passed = unit.passed + e2e.passed;
const failed = unit.failed + e2e.failed;
const skipped = unit.skipped + e2e.skipped;
console.log(
  `\nunit: ${unit.passed} passed, ${unit.failed} failed; browser: ${e2e.passed} passed, ${e2e.failed} failed`,
);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || unitStatus !== 0 || e2eStatus !== 0 ? 1 : 0);
