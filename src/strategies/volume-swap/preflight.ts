// Read-only checks of a volume swap, shared by the preflight step and `/cutover plan`: where each
// volume is, whether `to` can take them, the permissions (DryRun), and what each server's health
// check sees now (the identity of the data on `from`; anything already answering on `to`).
import type { Ec2Port } from '../../ports/ec2';
import type { PreflightCheck } from '../types';
import { isEc2Power, type SwapVolume } from './config';
import { attachmentTo, dryRunCheck } from './ec2-steps';
import { describeReading, type SideProbes } from './probes';

export interface PreflightResult {
  checks: PreflightCheck[];
  /** The system identifier `from` answered with, when its check reads one. */
  fromIdentity: string | null;
}

export async function volumeSwapPreflight(
  ec2: Ec2Port,
  probes: SideProbes,
  volume: SwapVolume,
): Promise<PreflightResult> {
  const checks = await ec2Checks(ec2, volume);
  const health = await healthChecks(probes);
  return { checks: [...checks, ...health.checks], fromIdentity: health.fromIdentity };
}

async function ec2Checks(ec2: Ec2Port, volume: SwapVolume): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const target = await ec2
    .describeInstance(volume.region, volume.to.instanceId)
    .catch((error: Error) => error);
  const seen = [];
  for (const { volumeId, device } of volume.volumes) {
    const found = await ec2.describeVolume(volume.region, volumeId).catch((error: Error) => error);
    if (found instanceof Error || found === null) {
      checks.push({
        name: 'volume',
        ok: false,
        detail: found ? found.message : `volume ${volumeId} not found`,
      });
      continue;
    }
    seen.push({ volumeId, device, found });
    const onFrom = attachmentTo(found, volume.from.instanceId);
    checks.push({
      name: 'volume attached to from',
      ok: onFrom?.state === 'attached' && onFrom.device === device && found.attachments.length === 1,
      detail: onFrom
        ? onFrom.device === device
          ? `${volumeId} attached to ${volume.from.instanceId} at ${onFrom.device}`
          : `${volumeId} is attached to ${volume.from.instanceId} at ${onFrom.device}, not ${device}`
        : `${volumeId} is not attached to ${volume.from.instanceId} (${found.attachments.map((a) => `${a.instanceId} ${a.state}`).join(', ') || found.state})`,
    });
  }
  if (target instanceof Error || target === null) {
    checks.push({
      name: 'to instance',
      ok: false,
      detail: target ? target.message : `instance ${volume.to.instanceId} not found`,
    });
    return checks;
  }
  const startsIt = isEc2Power(volume.start);
  const stateOk = target.state === 'running' || (target.state === 'stopped' && startsIt);
  checks.push({
    name: 'to instance ready',
    ok: stateOk,
    detail: stateOk
      ? `${target.id} is ${target.state}`
      : `${target.id} is ${target.state}${target.state === 'stopped' ? ' and start does not start it' : ''}`,
  });
  for (const { volumeId, device, found } of seen) {
    const sameZone = target.availabilityZone === found.availabilityZone;
    checks.push({
      name: 'same availability zone',
      ok: sameZone,
      detail: sameZone
        ? `${volumeId} and ${target.id} both in ${found.availabilityZone}`
        : `availability zone mismatch: ${volumeId} is in ${found.availabilityZone}, ${target.id} in ${target.availabilityZone} (EBS volumes attach only within their zone)`,
    });
    const deviceFree = !target.devices.includes(device);
    checks.push({
      name: 'device free on to',
      ok: deviceFree,
      detail: deviceFree
        ? `${device} is free on ${target.id}`
        : `device ${device} is already taken on ${target.id}`,
    });
    checks.push(
      await dryRunCheck(
        () =>
          ec2.checkPermissions(volume.region, volumeId, volume.from.instanceId, volume.to.instanceId, device),
        `DetachVolume and AttachVolume of ${volumeId} allowed`,
      ),
    );
    if (volume.snapshot || volume.snapshotBeforeGate) {
      checks.push(
        await dryRunCheck(
          () => ec2.checkSnapshotPermission(volume.region, volumeId),
          `CreateSnapshot of ${volumeId} allowed`,
        ),
      );
    }
  }
  return checks;
}

async function healthChecks(
  probes: SideProbes,
): Promise<{ checks: PreflightCheck[]; fromIdentity: string | null }> {
  let targets;
  try {
    targets = { from: probes.target('from'), to: probes.target('to') };
  } catch (error) {
    return { checks: [{ name: 'health', ok: false, detail: (error as Error).message }], fromIdentity: null };
  }
  if (JSON.stringify(targets.from) === JSON.stringify(targets.to)) {
    return {
      checks: [
        {
          name: 'health',
          ok: false,
          detail:
            'from and to are checked at the same address: the check cannot tell the old server from the new one',
        },
      ],
      fromIdentity: null,
    };
  }
  const checks: PreflightCheck[] = [];
  const [from, to] = await Promise.all([probes.check('from'), probes.check('to')]);
  const fromIdentity = from.healthy ? from.identity : null;
  checks.push(
    from.healthy
      ? { name: 'database on from', ok: true, detail: `${probes.instanceOf('from')} ${from.detail}` }
      : {
          name: 'database on from',
          ok: true,
          warning: true,
          detail: `${probes.instanceOf('from')} does not answer (${describeReading(from)}): the identity of its data cannot be read before the stop`,
        },
  );
  if (!probes.readsIdentity('to')) {
    checks.push({
      name: 'identity on to',
      ok: true,
      warning: true,
      detail: `the health check of to is ${targets.to.kind}, not PostgreSQL: it cannot tell the moved data from another cluster`,
    });
  } else if (to.healthy && to.identity !== null) {
    checks.push({
      name: 'database on to',
      ok: true,
      warning: true,
      detail:
        to.identity === fromIdentity
          ? `${probes.instanceOf('to')} already answers with the same system identifier (a standby of from?): after the start the check cannot tell it from the moved data`
          : `${probes.instanceOf('to')} already answers with another cluster (system identifier ${to.identity}): the start hook must replace it, or the run stops at the start`,
    });
  }
  return { checks, fromIdentity };
}
