// The console page in a real (headless) Chromium: a person types commands, switches users, clicks
// buttons, answers a confirmation dialog and a modal, and reads threads and the lag chart. Needs
// Chromium (CHROMIUM_PATH, or the Debian package's binary); fails with how to install it otherwise.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TargetConfig } from '../../../src/config/types';
import type { Run } from '../../../src/engine/types';
import type { Runtime } from '../../../src/main/runtime';
import { startStrategyRuntime, testTarget } from '../../support/runtimes/harness';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../support/services/pg';
import { freshQueueName } from '../../support/services/redis';
import { createTestStrategy, TestWorld } from '../../support/fakes/test-strategy';
import { waitFor } from '../../support/wait-for';

const chromiumPath = [process.env['CHROMIUM_PATH'], '/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(
  (candidate): candidate is string => typeof candidate === 'string' && existsSync(candidate),
);
// No silent skip: a machine without Chromium fails here and says how to get it.
if (!chromiumPath) {
  throw new Error('the console browser test needs Chromium: apt-get install chromium (or set CHROMIUM_PATH)');
}

const schema = freshSchemaName('t_console_ui');
const MB = 1024 * 1024;
// maxLag is what replica-promotion targets carry; the console draws it as the chart's threshold.
const target: TargetConfig = {
  ...testTarget('orders-db'),
  approvers: ['U0APPROVER', 'S0DBAONCALL'],
  settings: { ...testTarget('orders-db').settings, maxLag: { bytes: 16 * MB, seconds: 5 } },
};

let runtime: Runtime;
let world: TestWorld;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

describe('local console in a browser', () => {
  beforeAll(async () => {
    world = new TestWorld(testDatabaseUrl, `${schema}_world`);
    await world.setUp();
    runtime = await startStrategyRuntime({
      strategy: createTestStrategy(world),
      targets: { path: 'test', targets: [target] },
      schema,
      queueName: freshQueueName('console-ui'),
      config: { localConsole: true },
      httpPort: 0,
      reconcileIntervalMs: null,
      lagSampleIntervalMs: null,
    });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`http://localhost:${runtime.http!.port}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await runtime.worker?.close();
    await runtime.queue.queue.obliterate({ force: true });
    await runtime.close();
    await world.tearDown();
    await dropSchema(schema);
  });

  async function type(text: string): Promise<void> {
    await page.fill('#command', text);
    await page.press('#command', 'Enter');
  }

  async function actAs(userId: string): Promise<void> {
    await page.selectOption('#user', userId);
    // A string: the test's TypeScript has no DOM types.
    await page.waitForFunction(`document.getElementById('user').value === ${JSON.stringify(userId)}`);
  }

  it('looks like a channel and answers /cutover help only to the one who asked', async () => {
    await page.waitForSelector('#channel-name:has-text("#orders-db-cutovers")');
    await page.waitForSelector('.connection.live');
    expect(await page.inputValue('#command')).toBe('/cutover ');
    await type('/cutover help');
    const help = page.locator('.msg-ephemeral', { hasText: 'database cutovers' });
    await help.waitFor();
    expect(await help.locator('pre').textContent()).toContain('/cutover start <target>');
    expect(await help.locator('.ephemeral-note').textContent()).toContain('Only visible to you');
    expect(await page.inputValue('#command')).toBe('/cutover ');

    await actAs('U0APPROVER');
    await page.waitForSelector('.msg-ephemeral', { state: 'detached' });
    await actAs('U0LOCALYOU');
    await help.waitFor();
  });

  it('runs a cutover: progress in place, a confirmation dialog, the modal, the thread and the lag chart', async () => {
    await type('/cutover start orders-db');
    await page.locator('.bk-header', { hasText: 'Cutover orders-db — test' }).waitFor();
    const run = await waitFor('the run', async () => (await runtime.store.listActiveRuns())[0]);
    const approve = page.locator('button[data-action-id="cutover_approve"]');
    await approve.waitFor();

    // Lag samples make a chart next to the progress message, with the target's threshold.
    const now = Date.now();
    for (const [i, bytes] of [40, 30, 22, 12, 6].entries()) {
      await runtime.store.recordLagSample({
        runId: run.id,
        at: new Date(now - (5 - i) * 2000).toISOString(),
        bytes: bytes * MB,
        seconds: bytes / 10,
      });
    }
    const chart = page.locator(`.lag-chart[data-run="${run.id}"]`);
    await chart.locator('polyline.lag-line').waitFor();
    expect(await chart.locator('.lag-threshold').count()).toBe(1);
    // The page redraws the chart as the samples arrive: wait for the one that includes the latest.
    await chart.locator('.lag-caption', { hasText: '6.0 MB / 0.6 s' }).waitFor();

    // Abort asks first; "Keep going" sends nothing.
    await page
      .locator('.msg', { hasText: 'Approval needed' })
      .locator('button[data-action-id="cutover_abort"]')
      .click();
    await page.locator('#confirm[open]').waitFor();
    expect(await page.textContent('#confirm-title')).toBe('Abort this cutover?');
    await page.click('#confirm-no');
    await page.locator('#confirm[open]').waitFor({ state: 'detached' });
    expect((await runtime.store.getRun(run.id))?.state).toBe('awaiting_approval');

    // The requester is refused.
    await approve.click();
    await page.locator('.msg-ephemeral', { hasText: 'you requested this run' }).waitFor();

    // An approver types a wrong name (an error under the input), cancels, tries again.
    await actAs('U0APPROVER');
    await approve.click();
    await page.locator('#modal[open]').waitFor();
    expect(await page.textContent('#modal-title')).toBe('Confirm cutover step');
    await page.fill('#modal .bk-text-input', 'orders');
    await page.click('#modal-submit');
    await page.locator('.bk-input-error', { hasText: "Type the target's name exactly: orders-db" }).waitFor();
    await page.click('#modal-close');
    await page.locator('#modal[open]').waitFor({ state: 'detached' });
    await approve.click();
    await page.locator('#modal[open]').waitFor();
    expect(await page.inputValue('#modal .bk-text-input')).toBe('');
    await page.fill('#modal .bk-text-input', 'orders-db');
    await page.press('#modal .bk-text-input', 'Enter');
    await page.locator('#modal[open]').waitFor({ state: 'detached' });

    const progress = page.locator('.msg', {
      has: page.locator('.bk-header', { hasText: 'Cutover orders-db' }),
    });
    await progress.locator('text=Cutover complete').waitFor();
    expect(await progress.locator('.msg-edited').count()).toBe(1);
    expect(await progress.locator('.mention', { hasText: '@you' }).count()).toBeGreaterThan(0);
    expect(await page.locator('.emoji[title=":white_check_mark:"]').count()).toBeGreaterThan(0);
    expect(((await runtime.store.getRun(run.id)) as Run).state).toBe('succeeded');

    await progress.locator('.replies-link').click();
    await page.locator('#thread:not([hidden]) #thread-list .msg').nth(1).waitFor();
    expect(await page.locator('#thread-list').textContent()).toContain('approved');

    await page
      .screenshot({ path: '.test-artifacts/local-console.png', fullPage: true })
      .catch(() => undefined);
    expect(pageErrors).toEqual([]);
  });
});
