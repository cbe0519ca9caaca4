// scripts/hooks/ebs-device.sh, the helper for volume-swap hooks on the instance: a volume is found by
// its id (the NVMe by-id name on Nitro), the device name only as a hint.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '../../../scripts/hooks/ebs-device.sh');

async function outcome(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(SCRIPT, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('a volume that is not attached here exits 3, naming the by-id path it looked for', async () => {
  const result = await outcome('vol-0123456789abcdef0', '/dev/sdz');
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(
    'vol-0123456789abcdef0 is not attached here (no /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0, no /dev/sdz)',
  );
  expect(result.stdout).toBe('');
});

test('without a volume id it says how to call it', async () => {
  const result = await outcome();
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('usage:');
});
