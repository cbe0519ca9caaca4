// The demo, driven by a person's browser: headless Chromium (Debian's package, via playwright-core)
// opens the local console, starts a cutover, switches to an approver, approves with the typed
// confirmation, and sees the run finish on a real PostgreSQL pair.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import { startDemo, type Demo } from '../../src/demo/demo';
import { inRecovery, sqlAt } from '../support/services/pg';
import { waitFor } from '../support/wait-for';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '../../.test-artifacts');
let demo: Demo;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the browser test needs Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`,
    );
  }
  demo = await startDemo({ env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' }, say: () => undefined });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** One cutover as a person does it in the console: start, switch to an approver, approve, typed name. */
async function cutOverInTheBrowser(round: number, requester: string): Promise<void> {
  await page.locator('#user').selectOption(requester);
  const prompts = page.locator('.msg', { hasText: 'Approval needed' });
  const before = await prompts.count();
  await page.locator('#command').fill('/cutover start demo');
  await page.locator('#send').click();

  // The progress message and the approval prompt appear, with the lag the bot samples.
  await waitFor('a new approval prompt', async () => (await prompts.count()) > before || undefined, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  const prompt = prompts.last();
  const approve = prompt.locator('button[data-action-id="cutover_approve"]');
  await approve.waitFor({ timeout: 30_000 });
  // The standby applies commits a second late: the gate shows the lag it was asked under.
  expect(await prompt.textContent()).toMatch(/Replication lag/);

  // Four eyes: the requester cannot approve; switch to an approver.
  const approverId = await page.locator('#user option[value^="U0DEMOAPPR"]').first().getAttribute('value');
  await page.locator('#user').selectOption(approverId);
  await approve.click();

  const input = page.locator('#modal .bk-text-input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill('demo');
  await page.locator('#modal-submit').click();

  await waitFor(
    `cutover ${round + 1} to succeed`,
    async () => {
      const runs = await demo.runtime.store.listRecentRuns(5);
      const ended = runs.find((run) => run.state === 'failed' || run.state === 'aborted');
      if (ended) throw new Error(`run ${ended.id} ended ${ended.state}`);
      if (runs.filter((run) => run.state === 'succeeded').length === round + 1) return true;
      const newest = runs[0];
      const step = newest?.steps[newest.currentStep];
      throw new Error(
        `newest run ${newest?.state ?? 'none'} at ${step?.spec.name ?? '?'} (${step?.state ?? '?'}): ${step?.gate?.message ?? step?.error?.message ?? JSON.stringify(step?.output ?? null)}`,
      );
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
}

test('two cutovers in the browser, there and back: PgBouncer clients see no error, the old primary rejoins', async () => {
  const replication = new PgReplication();
  const original = { primary: demo.primaryUrl, standby: demo.standbyUrl };
  await page.goto(demo.url);
  const requester = await page.inputValue('#user');

  await cutOverInTheBrowser(0, requester);
  await page
    .locator('#messages')
    .getByText('Succeeded', { exact: false })
    .first()
    .waitFor({ timeout: 15_000 });
  // The lag chart scales to the samples: the 16 MB limit is named, not drawn over a flat line.
  await page.locator('.lag-caption', { hasText: 'far above' }).first().waitFor({ timeout: 15_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'console-cutover.png'), fullPage: true });

  // The standby was promoted onto a new timeline; the old primary streams from it; the demo swapped them.
  await waitFor('the demo to swap the roles', async () => demo.primaryUrl === original.standby || undefined);
  expect(demo.standbyUrl).toBe(original.primary);
  expect(await replication.verifyPromoted(demo.primaryUrl)).toEqual({
    inRecovery: false,
    timeline: 2,
    acceptsWrites: true,
  });
  expect(await inRecovery(demo.standbyUrl)).toBe(true);

  // And back: the second cutover promotes the original primary.
  await cutOverInTheBrowser(1, requester);
  await waitFor('the demo to swap back', async () => demo.primaryUrl === original.primary || undefined);
  expect(await replication.verifyPromoted(demo.primaryUrl)).toEqual({
    inRecovery: false,
    timeline: 3,
    acceptsWrites: true,
  });
  const runs = await demo.runtime.store.listRecentRuns(2);
  expect(runs.map((run) => run.state)).toEqual(['succeeded', 'succeeded']);

  if (demo.pgbouncer) {
    // The write load went through PgBouncer: paused and resumed around each switch, never refused.
    expect(demo.writer.errors).toEqual({});
    expect(demo.writer.refused).toBe(0);
    // And each report says so (it is posted in the run's thread).
    for (const run of runs) {
      const report = run.steps.find((step) => step.spec.name === 'report')?.output?.['report'];
      expect(report).toMatch(
        /A client writing through PgBouncer the whole time: longest stall \d+ ms, 0 error\(s\)/,
      );
      expect(report).toMatch(/Redundancy restored/);
    }
  }
  // Every acknowledged write is on the primary now.
  await demo.writer.stop();
  const acknowledged = demo.writer.acknowledged;
  const rows = await sqlAt<{ id: number }>(demo.primaryUrl, 'SELECT id FROM demo_orders');
  const present = new Set(rows.map((row) => row.id));
  expect(acknowledged.filter((id) => !present.has(id))).toEqual([]);
  expect(acknowledged.length).toBeGreaterThan(0);
}, 240_000);
