// `npm run docs:screenshot`: docs/console.png from the page as it is today. Starts the demo (a real
// PostgreSQL pair behind PgBouncer, the local console), starts a cutover in headless Chromium and
// photographs the channel at the approval prompt, with the progress message and its lag chart.
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startDemo } from '../src/demo/demo';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const OUT = path.join(__dirname, '../docs/console.png');

async function main(): Promise<void> {
  const demo = await startDemo({
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' },
    say: () => undefined,
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(demo.url);
    await page.locator('#command').fill('/cutover start demo');
    await page.locator('#send').click();
    const prompt = page.locator('.msg', { hasText: 'Approval needed' }).last();
    await prompt.locator('button[data-action-id="cutover_approve"]').waitFor({ timeout: 60_000 });
    // A few lag samples on the chart before the picture.
    await page.waitForTimeout(4_000);
    await prompt.scrollIntoViewIfNeeded();
    await page.screenshot({ path: OUT });
    process.stdout.write(`wrote ${OUT}\n`);
  } finally {
    await browser.close();
    await demo.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
