// `/cutover ...`: ack at once, then answer. A usage error is answered in the ack itself.
import type { App, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import {
  renderPlan,
  renderRunList,
  renderStatus,
  renderTargets,
  targetSummary,
} from '../src/slack/render/summary';
import { ACTIVE_RUN_STATES } from '../src/engine/types';
import { escapeMrkdwn } from '../src/slack/render/blocks';
import type { SlackHandlerDeps } from './deps';
import { channelProblem, findRun, findTarget, mayAbort, replyEphemeral } from './deps';
import { firstDelivery } from './deliveries';
import { parseCommand } from './grammar/parse';
import type { CutoverCommand } from './grammar/types';
import { helpText } from './grammar/usage';
import { utcDateTime } from '../src/slack/render/blocks';
import { checkScheduleTime, formatOccurrence, nextWindows, windowContaining } from '../src/windows';

export const SLASH_COMMAND = '/cutover';

interface Invocation {
  client: WebClient;
  user: string;
  teamId: string | undefined;
  channel: string;
}

export function registerSlashCommand(app: App, deps: SlackHandlerDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, client, context }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) {
      const { message, usage } = parsed.error;
      // Both may echo what was typed, and `<target>` would read as a Slack link: escape them.
      await ack({
        response_type: 'ephemeral',
        text: `${escapeMrkdwn(message)}\nUsage: \`${escapeMrkdwn(usage)}\``,
      });
      return;
    }
    await ack();
    const invocation = invocationOf(command, client);
    try {
      if (!(await firstDelivery(context))) return;
      await handle(parsed.command, invocation, deps);
    } catch (error) {
      deps.log.error({ err: error, command: parsed.command.kind }, 'slash command failed');
      await replyEphemeral(
        client,
        invocation.channel,
        invocation.user,
        "Something went wrong; nothing was changed by this command. The error is in the bot's log.",
      ).catch(() => undefined);
    }
  });
}

function invocationOf(command: SlashCommand, client: WebClient): Invocation {
  return { client, user: command.user_id, teamId: command.team_id, channel: command.channel_id };
}

async function handle(command: CutoverCommand, call: Invocation, deps: SlackHandlerDeps): Promise<void> {
  const reply = (message: Parameters<typeof replyEphemeral>[3]) =>
    replyEphemeral(call.client, call.channel, call.user, message);
  const now = deps.clock.now();

  if (call.teamId !== deps.teamId) {
    await reply('This bot serves one workspace; commands from other workspaces are not taken.');
    return;
  }

  switch (command.kind) {
    case 'help':
      await reply(helpText());
      return;

    case 'targets':
      await reply(renderTargets(deps.targets.map((target) => targetSummary(target, now))));
      return;

    case 'plan': {
      const target = findTarget(deps, command.target);
      if (!target.ok) return reply(target.message);
      const wrongChannel = channelProblem(target.value, call.channel);
      if (wrongChannel) return reply(wrongChannel);
      const strategy = deps.strategies.get(command.strategy ?? target.value.strategy);
      if (!strategy)
        return reply(`Strategy \`${command.strategy ?? target.value.strategy}\` is not available.`);
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
      const outcome = await deps.runs.start({
        target: target.value,
        requestedBy: call.user,
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
        requestedBy: call.user,
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

    case 'status': {
      if (command.runId) {
        const run = await findRun(deps, command.runId);
        if (!run.ok) return reply(run.message);
        const samples = await deps.store.recentLagSamples(run.value.id, 30);
        await reply(renderStatus(run.value, now, { samples }));
        return;
      }
      const active = (await deps.store.listActiveRuns()).filter((run) =>
        ACTIVE_RUN_STATES.includes(run.state),
      );
      await reply(active.length === 0 ? 'No cutover is running.' : renderRunList(active, now));
      return;
    }

    case 'list': {
      // Scheduled runs first (however long ago they were made), then the most recent others.
      const scheduled = await deps.store.listScheduledRuns();
      const recent = (await deps.store.listRecentRuns(20)).filter((run) => run.state !== 'scheduled');
      await reply(renderRunList([...scheduled, ...recent], now));
      return;
    }

    case 'abort': {
      const run = await findRun(deps, command.runId);
      if (!run.ok) return reply(run.message);
      const target = deps.targets.find((candidate) => candidate.name === run.value.target);
      const permission = await mayAbort(deps, run.value, target, { id: call.user, teamId: call.teamId });
      if (!permission.ok) {
        await deps.store.appendAudit({
          runId: run.value.id,
          actor: call.user,
          type: 'refused:abort',
          payload: { reason: permission.reason, via: 'command' },
        });
        return reply(`Not aborted: ${permission.reason}.`);
      }
      const outcome = await deps.runs.abort(run.value.id, call.user, command.reason ?? 'aborted from Slack');
      await reply(
        outcome.ok ? `Aborting \`${run.value.id.slice(0, 8)}\`.` : `Not aborted: ${outcome.error}.`,
      );
      return;
    }
  }
}
