// Buttons and the confirmation modal: Approve, Abort, Ask again. Each listener acks first, then
// checks the click against the stored run (a stale button changes nothing) and who clicked.
import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Run, StepRecord } from '../src/engine/types';
import { describeGate, seenConditions } from '../src/slack/gate-details';
import {
  ACTION_ABORT,
  ACTION_APPROVE,
  ACTION_REASK,
  CONFIRM_ACTION_ID,
  CONFIRM_BLOCK_ID,
  CONFIRM_CALLBACK_ID,
  parseGateRef,
  parseStepRef,
  type GateRef,
} from '../src/slack/render/blocks';
import {
  modalValidationError,
  parseConfirmMetadata,
  renderConfirmModal,
  typedTargetMatches,
} from '../src/slack/render/modal';
import type { SlackHandlerDeps } from './deps';
import { mayAbort, mayApprove, replyEphemeral } from './deps';
import { firstDelivery } from './deliveries';

interface Clicker {
  id: string;
  teamId: string | undefined;
  channel: string | undefined;
}

function clickerOf(body: BlockAction): Clicker {
  return { id: body.user.id, teamId: body.team?.id ?? body.user.team_id, channel: body.channel?.id };
}

/** The gate a click refers to, if it is still open for exactly that round. */
function openGate(run: Run | null, ref: GateRef): { run: Run; step: StepRecord } | string {
  if (!run) return 'That run does not exist.';
  const step = run.steps[ref.step];
  if (run.state !== 'awaiting_approval' || run.currentStep !== ref.step || !step?.gate) {
    return `This approval request is no longer open: the run is ${run.state.replace('_', ' ')}.`;
  }
  if (step.gate.round !== ref.round)
    return 'This approval request was replaced by a newer one; use the latest message.';
  if (step.gate.expired) return 'This approval request has expired; press "Ask again" on it to renew it.';
  return { run, step };
}

export function registerActions(app: App, deps: SlackHandlerDeps): void {
  const targetOf = (run: Run) => deps.targets.find((target) => target.name === run.target);

  const refuse = async (
    client: WebClient,
    clicker: Clicker,
    runId: string | null,
    type: string,
    reason: string,
  ) => {
    deps.runs.refused(type);
    await deps.store.appendAudit({ runId, actor: clicker.id, type: `refused:${type}`, payload: { reason } });
    if (clicker.channel) await replyEphemeral(client, clicker.channel, clicker.id, `Not done: ${reason}`);
  };

  app.action<BlockAction<ButtonAction>>(ACTION_APPROVE, async ({ ack, body, action, client, context }) => {
    await ack();
    if (!(await firstDelivery(context))) return;
    const clicker = clickerOf(body);
    const ref = parseGateRef(action.value ?? '');
    if (!ref) return refuse(client, clicker, null, 'approve', 'the button did not name a run and gate');
    const gate = openGate(await deps.store.getRun(ref.runId), ref);
    if (typeof gate === 'string') {
      if (clicker.channel) await replyEphemeral(client, clicker.channel, clicker.id, gate);
      return;
    }
    const target = targetOf(gate.run);
    const permission = await mayApprove(deps, gate.run, target, clicker);
    if (!permission.ok) return refuse(client, clicker, gate.run.id, 'approve', permission.reason);
    const details = describeGate(gate.run, gate.step, (await deps.store.recentLagSamples(gate.run.id, 1))[0]);
    if (gate.step.spec.destructive && gate.step.gate?.reason === 'planned') {
      // Irreversible: the approver types the target's name in a modal; the approval happens on submit.
      await client.views.open({
        trigger_id: body.trigger_id,
        view: renderConfirmModal({
          ...ref,
          target: gate.run.target,
          whatWillHappen: details.whatWillHappen,
          conditions: details.conditions,
          stepTitle: gate.step.spec.title,
          ...(details.irreversible ? { irreversible: details.irreversible } : {}),
          now: deps.clock.now(),
        }) as unknown as Parameters<WebClient['views']['open']>[0]['view'],
      });
      return;
    }
    const outcome = await deps.runs.approve(
      ref.runId,
      ref.step,
      ref.round,
      clicker.id,
      seenConditions(details),
    );
    if (!outcome.ok && clicker.channel) {
      await replyEphemeral(client, clicker.channel, clicker.id, `Not approved: ${outcome.error}.`);
    }
  });

  app.view<ViewSubmitAction>(CONFIRM_CALLBACK_ID, async ({ ack, body, view, client }) => {
    const ref = parseConfirmMetadata(view.private_metadata);
    const typed = view.state.values[CONFIRM_BLOCK_ID]?.[CONFIRM_ACTION_ID]?.value;
    const clicker: Clicker = {
      id: body.user.id,
      teamId: body.user.team_id ?? body.team?.id,
      channel: undefined,
    };
    if (!ref) {
      await ack(modalValidationError('This confirmation is not valid any more; press Approve again.'));
      return;
    }
    const run = await deps.store.getRun(ref.runId);
    if (!run || !typedTargetMatches(typed, run.target)) {
      await ack(modalValidationError(`Type the target's name exactly: ${run?.target ?? 'unknown'}`));
      await deps.store.appendAudit({
        runId: run?.id ?? null,
        actor: clicker.id,
        type: 'refused:approve',
        payload: { reason: 'typed confirmation did not match', typed: typed ?? '' },
      });
      return;
    }
    await ack();
    const gate = openGate(run, ref);
    if (typeof gate === 'string') {
      await deps.store.appendAudit({
        runId: run.id,
        actor: clicker.id,
        type: 'refused:approve',
        payload: { reason: gate },
      });
      return;
    }
    const permission = await mayApprove(deps, gate.run, targetOf(gate.run), clicker);
    if (!permission.ok) {
      await refuse(
        client,
        { ...clicker, channel: run.channel ?? undefined },
        run.id,
        'approve',
        permission.reason,
      );
      return;
    }
    const details = describeGate(gate.run, gate.step, (await deps.store.recentLagSamples(run.id, 1))[0]);
    const outcome = await deps.runs.approve(ref.runId, ref.step, ref.round, clicker.id, {
      ...seenConditions(details),
      typedConfirmation: typed ?? '',
    });
    if (!outcome.ok && run.channel) {
      await replyEphemeral(client, run.channel, clicker.id, `Not approved: ${outcome.error}.`);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION_ABORT, async ({ ack, body, action, client, context }) => {
    await ack();
    if (!(await firstDelivery(context))) return;
    const clicker = clickerOf(body);
    const ref = parseStepRef(action.value ?? '');
    if (!ref) return refuse(client, clicker, null, 'abort', 'the button did not name a run');
    const run = await deps.store.getRun(ref.runId);
    if (!run) return refuse(client, clicker, null, 'abort', 'that run does not exist');
    const permission = await mayAbort(deps, run, targetOf(run), clicker);
    if (!permission.ok) return refuse(client, clicker, run.id, 'abort', permission.reason);
    const outcome = await deps.runs.abort(run.id, clicker.id, 'aborted from Slack');
    if (!outcome.ok && clicker.channel) {
      await replyEphemeral(client, clicker.channel, clicker.id, `Not aborted: ${outcome.error}.`);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION_REASK, async ({ ack, body, action, client, context }) => {
    await ack();
    if (!(await firstDelivery(context))) return;
    const clicker = clickerOf(body);
    const ref = parseStepRef(action.value ?? '');
    if (!ref) return refuse(client, clicker, null, 'gate_reopen', 'the button did not name a run');
    const run = await deps.store.getRun(ref.runId);
    if (!run) return refuse(client, clicker, null, 'gate_reopen', 'that run does not exist');
    // Asking again is for the people who could abort: the requester and the approvers.
    const permission = await mayAbort(deps, run, targetOf(run), clicker);
    if (!permission.ok) return refuse(client, clicker, run.id, 'gate_reopen', permission.reason);
    const outcome = await deps.runs.reopenGate(run.id, ref.step, clicker.id);
    if (!outcome.ok && clicker.channel) {
      await replyEphemeral(client, clicker.channel, clicker.id, `Not asked again: ${outcome.error}.`);
    }
  });
}
