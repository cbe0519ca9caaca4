// The demo, driven by a person's browser: headless Chromium (Debian's package, via playwright-core)
// opens the local console, starts a cutover, switches to an approver, approves with the typed
// confirmation, and sees the run finish on a real PostgreSQL pair.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PgReplication } from '../../src/adapters/postgres/pg-replication';
import { startDemo, type Demo } from '../../src/demo/demo';
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

test('start, switch user, approve with the typed name, and watch the promotion finish', async () => {
  await page.goto(demo.url);
  await page.locator('#command').fill('/cutover start demo');
  await page.locator('#send').click();

  // The progress message and the approval prompt appear, with the lag the bot samples.
  const approve = page.locator('button[data-action-id="cutover_approve"]').last();
  await approve.waitFor({ timeout: 30_000 });
  await page.locator('#messages').getByText('Cutover demo', { exact: false }).first().waitFor();

  // Four eyes: the requester cannot approve; switch to an approver.
  const approverId = await page.locator('#user option[value^="U0DEMOAPPR"]').first().getAttribute('value');
  await page.locator('#user').selectOption(approverId);
  await approve.click();

  const input = page.locator('#modal .bk-text-input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill('demo');
  await page.locator('#modal-submit').click();

  await page
    .locator('#messages')
    .getByText('Succeeded', { exact: false })
    .first()
    .waitFor({ timeout: 45_000 });

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'console-cutover.png'), fullPage: true });

  const runs = await demo.runtime.store.listRecentRuns(5);
  expect(runs[0]).toMatchObject({ target: 'demo', state: 'succeeded' });
  const replication = new PgReplication();
  // The old primary is fenced (nobody may log in to it, the bot included), the standby promoted onto
  // a new timeline.
  expect(await replication.reach(demo.primaryUrl)).toBe('rejected');
  expect(await waitFor('promoted', async () => replication.verifyPromoted(demo.standbyUrl))).toEqual({
    inRecovery: false,
    timeline: 2,
    acceptsWrites: true,
  });
});
