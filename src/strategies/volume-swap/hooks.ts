// The volume swap's operator commands (stop, start, verifyDown) run on one server at a time: their
// placeholders, and their result in words for a gate or the thread.
import { formatHookResult } from '../../hooks/format';
import { substitutePlaceholders } from '../../hooks/placeholders';
import { toHookCommand, type HookConfig } from '../../config/hook-schema';
import { fatal } from '../../engine/failures';
import type { HookRunner } from '../../ports/hooks';
import type { SwapVolume } from './config';

export interface HookOutcome {
  ok: boolean;
  /** The command as it ran and how it ended, with its output (secrets redacted). */
  summary: string;
}

/**
 * `{instanceId}` is the server the hook acts on. `{volumeId}` and `{device}` are the first volume's
 * (the data volume); `{volumeIds}` and `{devices}` list the whole set, comma-separated, in order.
 */
export function hookVars(volume: SwapVolume, instanceId: string): Record<string, string> {
  const first = volume.volumes[0];
  return {
    instanceId,
    'from.instanceId': volume.from.instanceId,
    'to.instanceId': volume.to.instanceId,
    volumeId: first?.volumeId ?? '',
    device: first?.device ?? '',
    volumeIds: volume.volumes.map((entry) => entry.volumeId).join(','),
    devices: volume.volumes.map((entry) => entry.device).join(','),
    region: volume.region,
  };
}

/** Runs `config` on `instanceId`; a config that cannot be resolved (an unset secret) is fatal. */
export async function runHookOn(
  hooks: HookRunner,
  env: NodeJS.ProcessEnv,
  config: HookConfig,
  volume: SwapVolume,
  instanceId: string,
): Promise<HookOutcome> {
  let command: ReturnType<typeof toHookCommand>;
  try {
    command = toHookCommand(config, env);
  } catch (error) {
    throw fatal((error as Error).message);
  }
  const vars = hookVars(volume, instanceId);
  const result = await hooks.run(command.hook, vars);
  const summary = formatHookResult(result, substitutePlaceholders(command.hook.command, vars), {
    secrets: command.secrets,
    maxOutputChars: 800,
  });
  return { ok: !result.timedOut && result.exitCode === 0, summary };
}
