// What the Slack-facing handlers need, and the checks they share. Handlers stay thin: they parse,
// authorize, and record an intent through the run service; the engine and workers do the rest.
import type { WebClient } from '@slack/web-api';
import type { TargetConfig } from '../src/config/types';
import type { Run } from '../src/engine/types';
import type { RunService } from '../src/orchestrator/run-service';
import type { Clock } from '../src/ports/clock';
import type { Logger } from '../src/ports/logger';
import type { RunStore } from '../src/ports/run-store';
import type { ApproverDirectory } from '../src/slack/approvers';
import type { Message } from '../src/slack/render/blocks';
import type { StrategyRegistry } from '../src/strategies/types';
import { closestNames } from './grammar/suggest';

export interface SlackHandlerDeps {
  runs: RunService;
  store: RunStore;
  targets: readonly TargetConfig[];
  strategies: StrategyRegistry;
  approvers: ApproverDirectory;
  clock: Clock;
  log: Logger;
  /** The workspace the bot is installed in; clicks from any other team are refused. */
  teamId: string;
}

export type Lookup<T> = { ok: true; value: T } | { ok: false; message: string };

export function findTarget(deps: SlackHandlerDeps, name: string): Lookup<TargetConfig> {
  const target = deps.targets.find((candidate) => candidate.name === name);
  if (target) return { ok: true, value: target };
  const suggestions = closestNames(
    name,
    deps.targets.map((candidate) => candidate.name),
  );
  const hint =
    suggestions.length > 0 ? ` Did you mean ${suggestions.map((s) => `\`${s}\``).join(' or ')}?` : '';
  return { ok: false, message: `Unknown target \`${name}\`.${hint} \`/cutover targets\` lists them.` };
}

/** Runs are named by id or by the short prefix the bot shows. */
export async function findRun(deps: SlackHandlerDeps, idOrPrefix: string): Promise<Lookup<Run>> {
  const ids = await deps.store.findRunIdsByPrefix(idOrPrefix.toLowerCase(), 2);
  if (ids.length === 0)
    return { ok: false, message: `No run \`${idOrPrefix}\`. \`/cutover list\` shows recent runs.` };
  if (ids.length > 1)
    return { ok: false, message: `\`${idOrPrefix}\` matches several runs; type more of the id.` };
  const run = await deps.store.getRun(ids[0] as string);
  return run ? { ok: true, value: run } : { ok: false, message: `No run \`${idOrPrefix}\`.` };
}

/** Commands that act on a target are only taken in the target's own channel. */
export function channelProblem(target: TargetConfig, channelId: string): string | null {
  if (target.channel === channelId) return null;
  return `\`${target.name}\` is operated from <#${target.channel}>; run this command there.`;
}

export type Permission = { ok: true } | { ok: false; reason: string };

/** May this user approve this run's gate? (The engine re-checks self-approval and the round.) */
export async function mayApprove(
  deps: SlackHandlerDeps,
  run: Run,
  target: TargetConfig | undefined,
  user: { id: string; teamId: string | undefined },
): Promise<Permission> {
  if (user.teamId !== deps.teamId)
    return { ok: false, reason: 'users from another workspace cannot approve' };
  if (!target) return { ok: false, reason: `target ${run.target} is no longer configured` };
  if (user.id === run.requestedBy && !run.policy.allowSelfApproval) {
    return { ok: false, reason: 'you requested this run; another approver has to approve it' };
  }
  if (!(await deps.approvers.isApprover(user.id, target.approvers))) {
    return { ok: false, reason: `you are not an approver for ${target.name}` };
  }
  return { ok: true };
}

/** Abort is for the requester and the target's approvers. */
export async function mayAbort(
  deps: SlackHandlerDeps,
  run: Run,
  target: TargetConfig | undefined,
  user: { id: string; teamId: string | undefined },
): Promise<Permission> {
  if (user.teamId !== deps.teamId) return { ok: false, reason: 'users from another workspace cannot abort' };
  if (user.id === run.requestedBy) return { ok: true };
  if (target && (await deps.approvers.isApprover(user.id, target.approvers))) return { ok: true };
  return { ok: false, reason: `only the requester and the approvers of ${run.target} can abort it` };
}

export async function replyEphemeral(
  client: WebClient,
  channel: string,
  user: string,
  message: Message | string,
): Promise<void> {
  const body =
    typeof message === 'string' ? { text: message } : { text: message.text, blocks: message.blocks };
  await client.chat.postEphemeral({ channel, user, ...body });
}
