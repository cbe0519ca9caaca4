// `/cutover ...`. Read-only commands (help, targets, status, list) and usage errors are answered in
// the ack itself: no Web API call, nothing claimed, since answering twice changes nothing. Commands
// that act (plan's live checks, start, schedule, abort) ack at once, then claim the delivery and
// answer with an ephemeral message.
import type { App, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import {
  renderPlan,
  renderRunList,
  renderStatus,
  renderTargets,
  targetSummary,
} from '../src/slack/render/summary';
import { strategySettingsProblems } from '../src/config/targets';
import { ACTIVE_RUN_STATES } from '../src/engine/types';
import { escapeMrkdwn, type Message } from '../src/slack/render/blocks';
import type { Person, SlackHandlerDeps } from './deps';
import {
  channelProblem,
  findRun,
  findTarget,
  isHomePerson,
  mayAbort,
  mayOperate,
  replyEphemeral,
} from './deps';
import { claimDelivery } from './deliveries';
import { parseCommand } from './grammar/parse';
import type { CutoverCommand } from './grammar/types';
import { helpText } from './grammar/usage';
import { utcDateTime } from '../src/slack/render/blocks';
import { checkScheduleTime, formatOccurrence, nextWindows, windowContaining } from '../src/windows';

export const SLASH_COMMAND = '/cutover';

type ReadOnlyCommand = Extract<CutoverCommand, { kind: 'help' | 'targets' | 'status' | 'list' }>;
type ActingCommand = Exclude<CutoverCommand, ReadOnlyCommand>;

const READ_ONLY = new Set<CutoverCommand['kind']>(['help', 'targets', 'status', 'list']);

function isReadOnly(command: CutoverCommand): command is ReadOnlyCommand {
  return READ_ONLY.has(command.kind);
}

const FAILED = "Something went wrong; nothing was changed by this command. The error is in the bot's log.";
const FOREIGN = 'This bot serves one workspace; commands from other workspaces are not taken.';

interface Invocation {
  client: WebClient;
  person: Person;
  channel: string;
}

/** An answer as the ack's body: Slack shows it to the person who typed the command. */
function ackBody(message: Message | string): {
  response_type: 'ephemeral';
  text: string;
  blocks?: Message['blocks'];
} {
  return typeof message === 'string'
    ? { response_type: 'ephemeral', text: message }
    : { response_type: 'ephemeral', text: message.text, blocks: message.blocks };
}

export function registerSlashCommand(app: App, deps: SlackHandlerDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, client, context }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) {
      const { message, usage } = parsed.error;
      // Both may echo what was typed, and `<target>` would read as a Slack link: escape them.
      await ack(ackBody(`${escapeMrkdwn(message)}\nUsage: \`${escapeMrkdwn(usage)}\``));
      return;
    }
    const call = invocationOf(command, client);
    if (isReadOnly(parsed.command)) {
      const answer = isHomePerson(deps, call.person)
        ? await answerReadOnly(parsed.command, deps).catch((error: unknown) => {
            deps.log.error({ err: error, command: parsed.command.kind }, 'slash command failed');
            return FAILED;
          })
        : FOREIGN;
      await ack(ackBody(answer));
      return;
    }
    const first = claimDelivery(context);
    await ack();
    try {
      if (!(await first)) return;
      await act(parsed.command, call, deps);
    } catch (error) {
      deps.log.error({ err: error, command: parsed.command.kind }, 'slash command failed');
      await replyEphemeral(client, call.channel, call.person.id, FAILED).catch(() => undefined);
    }
  });
}

function invocationOf(command: SlashCommand, client: WebClient): Invocation {
  return {
    client,
    person: { id: command.user_id, teamId: command.team_id, enterpriseId: command.enterprise_id },
    channel: command.channel_id,
  };
}

async function answerReadOnly(command: ReadOnlyCommand, deps: SlackHandlerDeps): Promise<Message | string> {
  const now = deps.clock.now();
  switch (command.kind) {
    case 'help':
      return helpText();
    case 'targets':
      return renderTargets(deps.targets.map((target) => targetSummary(target, now)));
    case 'status': {
      if (command.runId) {
        const run = await findRun(deps, command.runId);
        if (!run.ok) return run.message;
        const samples = await deps.store.recentLagSamples(run.value.id, 30);
        return renderStatus(run.value, now, { samples });
      }
      const active = (await deps.store.listActiveRuns()).filter((run) =>
        ACTIVE_RUN_STATES.includes(run.state),
      );
      return active.length === 0 ? 'No cutover is running.' : renderRunList(active, now);
    }
    case 'list': {
      // Scheduled runs first (however long ago they were made), then the most recent others.
      const [scheduled, recent] = await Promise.all([
        deps.store.listScheduledRuns(),
        deps.store.listRecentRuns(20),
      ]);
      return renderRunList([...scheduled, ...recent.filter((run) => run.state !== 'scheduled')], now);
    }
  }
}

/** A refused start or schedule: audited (who tried what), then explained. */
async function refuseOperation(
  deps: SlackHandlerDeps,
  call: Invocation,
  kind: 'start' | 'schedule',
  target: string,
  reason: string,
): Promise<void> {
  deps.runs.refused(kind);
  await deps.store.appendAudit({
    runId: null,
    actor: call.person.id,
    type: `refused:${kind}`,
    payload: { target, reason, via: 'command' },
  });
  await replyEphemeral(
    call.client,
    call.channel,
    call.person.id,
    `Not ${kind === 'start' ? 'started' : 'scheduled'}: ${escapeMrkdwn(reason)}.`,
  );
}

async function act(command: ActingCommand, call: Invocation, deps: SlackHandlerDeps): Promise<void> {
  const reply = (message: Parameters<typeof replyEphemeral>[3]) =>
    replyEphemeral(call.client, call.channel, call.person.id, message);
  const now = deps.clock.now();

  if (!isHomePerson(deps, call.person)) {
    await reply(FOREIGN);
    return;
  }

  switch (command.kind) {
    case 'plan': {
      const target = findTarget(deps, command.target);
      if (!target.ok) return reply(target.message);
      const wrongChannel = channelProblem(target.value, call.channel);
      if (wrongChannel) return reply(wrongChannel);
      const name = command.strategy ?? target.value.strategy;
      const strategy = deps.strategies.get(name);
      if (!strategy) return reply(`Strategy \`${escapeMrkdwn(name)}\` is not available.`);
      const problems = strategySettingsProblems(target.value, name, strategy.configSchema);
      if (problems.length > 0) {
        return reply(
          `\`${target.value.name}\` cannot be planned as ${escapeMrkdwn(name)}: its settings are not valid for it (${escapeMrkdwn(problems.slice(0, 3).join('; '))}).`,
        );
      }
      const plan = strategy.plan(target.value);
      // Live, read-only checks: the plan is a dry run and changes nothing.
      const preflight = await strategy
        .preflight(target.value)
        .catch((error: unknown) => [
          { name: 'preflight', ok: false, detail: error instanceof Error ? error.message : String(error) },
        ]);
      await reply(
        renderPlan({
          target: target.value.name,
          strategy: strategy.name,
          steps: plan.steps.map((step) => ({
            title: step.title,
            kind: step.kind,
            ...(step.destructive ? { destructive: true } : {}),
            ...(step.confirmPhrase ? { confirmPhrase: step.confirmPhrase } : {}),
            ...(step.compensation ? { compensation: step.compensation.title } : {}),
          })),
          preflight,
          ...(plan.warnings ? { warnings: plan.warnings } : {}),
        }),
      );
      return;
    }

    case 'start': {
      const target = findTarget(deps, command.target);
      if (!target.ok) return reply(target.message);
      const wrongChannel = channelProblem(target.value, call.channel);
      if (wrongChannel) return reply(wrongChannel);
      const permission = await mayOperate(deps, target.value, call.person, { force: !!command.force });
      if (!permission.ok) return refuseOperation(deps, call, 'start', target.value.name, permission.reason);
      const outcome = await deps.runs.start({
        target: target.value,
        requestedBy: call.person.id,
        channel: call.channel,
        ...(command.strategy ? { strategy: command.strategy } : {}),
        ...(command.force ? { force: command.force } : {}),
      });
      if (!outcome.ok) {
        const more = outcome.activeRunId
          ? ` See \`/cutover status ${outcome.activeRunId.slice(0, 8)}\`.`
          : '';
        return reply(`Not started: ${escapeMrkdwn(outcome.message)}.${more}`);
      }
      await reply(
        `Started cutover \`${outcome.run.id.slice(0, 8)}\` of \`${target.value.name}\` (${outcome.run.strategy}). Progress follows in this channel.`,
      );
      return;
    }

    case 'schedule': {
      const target = findTarget(deps, command.target);
      if (!target.ok) return reply(target.message);
      const wrongChannel = channelProblem(target.value, call.channel);
      if (wrongChannel) return reply(wrongChannel);
      const permission = await mayOperate(deps, target.value, call.person);
      if (!permission.ok) {
        return refuseOperation(deps, call, 'schedule', target.value.name, permission.reason);
      }
      const { windows, requireWindow } = target.value;
      let at: Date;
      if (command.nextWindow) {
        const next = nextWindows(windows, now, 1)[0];
        if (!next)
          return reply(`Not scheduled: \`${target.value.name}\` has no maintenance window configured.`);
        at = next.start;
      } else {
        at = new Date(command.at ?? '');
        const check = checkScheduleTime(windows, requireWindow, at, now, { target: target.value.name });
        if (!check.ok) return reply(`Not scheduled: ${escapeMrkdwn(check.message)}`);
      }
      const outcome = await deps.runs.schedule({
        target: target.value,
        requestedBy: call.person.id,
        channel: call.channel,
        at,
        ...(command.strategy ? { strategy: command.strategy } : {}),
      });
      if (!outcome.ok) {
        const more = outcome.activeRunId
          ? ` See \`/cutover status ${outcome.activeRunId.slice(0, 8)}\`.`
          : '';
        return reply(`Not scheduled: ${escapeMrkdwn(outcome.message)}.${more}`);
      }
      const open = windowContaining(windows, at);
      await reply(
        `Scheduled cutover \`${outcome.run.id.slice(0, 8)}\` of \`${target.value.name}\` (${outcome.run.strategy}) ` +
          `for ${utcDateTime(at)}${open ? `, in the window ${formatOccurrence(open)}` : ''}. ` +
          (target.value.reminderMs > 0
            ? `A reminder comes ${Math.round(target.value.reminderMs / 60_000)} min before. `
            : '') +
          `\`/cutover abort ${outcome.run.id.slice(0, 8)}\` cancels it.`,
      );
      return;
    }

    case 'abort': {
      const run = await findRun(deps, command.runId);
      if (!run.ok) return reply(run.message);
      const target = deps.targets.find((candidate) => candidate.name === run.value.target);
      const permission = await mayAbort(deps, run.value, target, call.person);
      if (!permission.ok) {
        await deps.store.appendAudit({
          runId: run.value.id,
          actor: call.person.id,
          type: 'refused:abort',
          payload: { reason: permission.reason, via: 'command' },
        });
        return reply(`Not aborted: ${permission.reason}.`);
      }
      const outcome = await deps.runs.abort(
        run.value.id,
        call.person.id,
        command.reason ?? 'aborted from Slack',
      );
      await reply(
        outcome.ok ? `Aborting \`${run.value.id.slice(0, 8)}\`.` : `Not aborted: ${outcome.error}.`,
      );
      return;
    }
  }
}
