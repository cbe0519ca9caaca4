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
  /** The workspace the bot is installed in; people of any other team are refused. */
  teamId: string;
  /** Enterprise Grid: the organization of that workspace; its other workspaces' people count too. */
  enterpriseId?: string;
}

/** Who sent a request, as Slack names them. */
export interface Person {
  id: string;
  /**
   * The person's own team: a click's `user.team_id` (an E… organization id on Enterprise Grid),
   * never `team.id`, which in a Slack Connect channel is the workspace hosting the channel.
   */
  teamId: string | undefined;
  /** A slash command's `enterprise_id`. */
  enterpriseId?: string | undefined;
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

/** Whether the person belongs to the bot's workspace (or its Enterprise Grid organization). */
export function isHomePerson(deps: SlackHandlerDeps, person: Person): boolean {
  if (person.teamId !== undefined && person.teamId === deps.teamId) return true;
  const organization = deps.enterpriseId;
  return (
    organization !== undefined && (person.teamId === organization || person.enterpriseId === organization)
  );
}

/** May this user approve this run's gate? (The engine re-checks self-approval and the round.) */
export async function mayApprove(
  deps: SlackHandlerDeps,
  run: Run,
  target: TargetConfig | undefined,
  user: Person,
): Promise<Permission> {
  if (!isHomePerson(deps, user)) return { ok: false, reason: 'users from another workspace cannot approve' };
  if (!target) return { ok: false, reason: `target ${run.target} is no longer configured` };
  if (user.id === run.requestedBy && !run.policy.allowSelfApproval) {
    return { ok: false, reason: 'you requested this run; another approver has to approve it' };
  }
  if (!(await deps.approvers.isApprover(user.id, target.approvers))) {
    return { ok: false, reason: `you are not an approver for ${target.name}` };
  }
  return { ok: true };
}

/** Abort is for the requester, the target's approvers and its operators (when it lists them). */
export async function mayAbort(
  deps: SlackHandlerDeps,
  run: Run,
  target: TargetConfig | undefined,
  user: Person,
): Promise<Permission> {
  if (!isHomePerson(deps, user)) return { ok: false, reason: 'users from another workspace cannot abort' };
  if (user.id === run.requestedBy) return { ok: true };
  if (target && (await deps.approvers.isApprover(user.id, target.approvers))) return { ok: true };
  if (target?.operators && (await deps.approvers.isApprover(user.id, target.operators))) return { ok: true };
  const who = target?.operators
    ? 'the requester, the operators and the approvers'
    : 'the requester and the approvers';
  return { ok: false, reason: `only ${who} of ${run.target} can abort it` };
}

/**
 * May this person start or schedule a run of the target? Anyone in the target's channel when the
 * target lists no `operators`; otherwise only they (users, or members of the listed user groups).
 * `--force` (past the cooldown) also needs one of the target's approvers.
 */
export async function mayOperate(
  deps: SlackHandlerDeps,
  target: TargetConfig,
  user: Person,
  what: { force?: boolean } = {},
): Promise<Permission> {
  if (target.operators && !(await deps.approvers.isApprover(user.id, target.operators))) {
    return { ok: false, reason: `you are not an operator of ${target.name}` };
  }
  if (what.force && !(await deps.approvers.isApprover(user.id, target.approvers))) {
    return { ok: false, reason: `--force needs an approver of ${target.name}` };
  }
  return { ok: true };
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
