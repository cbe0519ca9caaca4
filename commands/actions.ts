// Buttons and the confirmation modal: Approve, Abort, Ask again. A click is checked against the
// stored run (a stale button changes nothing) and against who clicked.
//
// An approval (the Approve button of a gate that needs nothing typed, or the modal's submission) is
// stored in one transaction with its delivery claim before Slack gets the ack: a crash at any
// moment keeps both or neither, so an approver never sees the dialog close on an approval that
// was lost. Other clicks ack first and claim their delivery while they ack.
import type { App, BlockAction, ButtonAction, Context, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { confirmationPhrase, needsTypedConfirmation } from '../src/engine/transition';
import type { JsonObject, Run, StepRecord } from '../src/engine/types';
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
import type { Person, SlackHandlerDeps } from './deps';
import { mayAbort, mayApprove, replyEphemeral } from './deps';
import { claimDelivery, deliveryKeyOf, duplicateDropped } from './deliveries';

interface Clicker extends Person {
  channel: string | undefined;
}

const FAILED = "Something went wrong; nothing was changed by this click. The error is in the bot's log.";

function clickerOf(body: BlockAction): Clicker {
  // The person's own team, not `body.team`: in a Slack Connect channel that is the host workspace.
  return { id: body.user.id, teamId: body.user.team_id, channel: body.channel?.id };
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

  /** A refusal before the engine: audited once per delivery, counted, and explained when possible. */
  const refuse = async (
    client: WebClient,
    context: Context,
    clicker: Clicker,
    runId: string | null,
    type: string,
    reason: string,
  ) => {
    if (!(await claimDelivery(context))) return;
    deps.runs.refused(type);
    await deps.store.appendAudit({ runId, actor: clicker.id, type: `refused:${type}`, payload: { reason } });
    if (clicker.channel) await replyEphemeral(client, clicker.channel, clicker.id, `Not done: ${reason}`);
  };

  /**
   * Stores the approval together with its delivery's claim (one transaction). Returns what to tell
   * the approver: null when it was taken, or when it repeats a delivery that was.
   */
  const approve = async (
    context: Context,
    ref: GateRef,
    user: string,
    seen: JsonObject,
    confirmation: string,
  ): Promise<string | null> => {
    const key = deliveryKeyOf(context);
    const outcome = await deps.runs.approve(ref.runId, ref.step, ref.round, user, seen, {
      confirmation,
      ...(key !== undefined ? { deliveryKey: key } : {}),
    });
    if (outcome.ok) return null;
    if (outcome.duplicate) {
      duplicateDropped(context);
      return null;
    }
    return `Not approved: ${outcome.error}.`;
  };

  app.action<BlockAction<ButtonAction>>(ACTION_APPROVE, async ({ ack, body, action, client, context }) => {
    const clicker = clickerOf(body);
    let acked = false;
    const ackOnce = async () => {
      if (acked) return;
      acked = true;
      await ack();
    };
    try {
      const ref = parseGateRef(action.value ?? '');
      if (!ref) {
        await ackOnce();
        return await refuse(
          client,
          context,
          clicker,
          null,
          'approve',
          'the button did not name a run and gate',
        );
      }
      const gate = openGate(await deps.store.getRun(ref.runId), ref);
      if (typeof gate === 'string') {
        await ackOnce();
        if (clicker.channel && (await claimDelivery(context)))
          await replyEphemeral(client, clicker.channel, clicker.id, gate);
        return;
      }
      const permission = await mayApprove(deps, gate.run, targetOf(gate.run), clicker);
      if (!permission.ok) {
        await ackOnce();
        return await refuse(client, context, clicker, gate.run.id, 'approve', permission.reason);
      }
      // What the approver sees (and what the approval records): read once the gate is known open.
      const latestLag = (await deps.store.recentLagSamples(gate.run.id, 1))[0];
      const details = describeGate(gate.run, gate.step, latestLag);
      if (needsTypedConfirmation(gate.step)) {
        // The approval happens when the modal is submitted with the target's name typed.
        const first = claimDelivery(context);
        await ackOnce();
        if (!(await first)) return;
        const override = gate.step.gate?.reason === 'needs_human';
        await client.views.open({
          trigger_id: body.trigger_id,
          view: renderConfirmModal({
            ...ref,
            target: gate.run.target,
            whatWillHappen: details.whatWillHappen,
            conditions: details.conditions,
            stepTitle: gate.step.spec.title,
            ...(gate.step.spec.confirmPhrase ? { confirmPhrase: gate.step.spec.confirmPhrase } : {}),
            ...(details.irreversible ? { irreversible: details.irreversible } : {}),
            ...(override
              ? { override: gate.step.gate?.message ?? gate.step.error?.message ?? 'it asks for a person' }
              : {}),
            now: deps.clock.now(),
          }) as unknown as Parameters<WebClient['views']['open']>[0]['view'],
        });
        return;
      }
      // Nothing to type for this gate (the engine says so too).
      const problem = await approve(context, ref, clicker.id, seenConditions(details), '');
      await ackOnce();
      if (problem && clicker.channel) await replyEphemeral(client, clicker.channel, clicker.id, problem);
    } catch (error) {
      deps.log.error({ err: error }, 'approve click failed');
      await ackOnce().catch(() => undefined);
      if (clicker.channel)
        await replyEphemeral(client, clicker.channel, clicker.id, FAILED).catch(() => undefined);
    }
  });

  app.view<ViewSubmitAction>(CONFIRM_CALLBACK_ID, async ({ ack, body, view, context }) => {
    let acked = false;
    const answer = async (message?: string) => {
      if (acked) return;
      acked = true;
      await (message === undefined ? ack() : ack(modalValidationError(message)));
    };
    try {
      await submitConfirmation(body, view, context, answer);
    } catch (error) {
      deps.log.error({ err: error }, 'confirmation submission failed');
      await answer(FAILED).catch(() => undefined);
    }
  });

  /** The modal's submission; `answer` acks it, with a message under the name input or closing it. */
  const submitConfirmation = async (
    body: ViewSubmitAction,
    view: ViewSubmitAction['view'],
    context: Context,
    answer: (message?: string) => Promise<void>,
  ): Promise<void> => {
    const ref = parseConfirmMetadata(view.private_metadata);
    const typed = view.state.values[CONFIRM_BLOCK_ID]?.[CONFIRM_ACTION_ID]?.value;
    const clicker: Person = { id: body.user.id, teamId: body.user.team_id };
    /** A refusal the modal shows under the name input (it stays open), audited once per delivery. */
    const refuseInModal = async (runId: string | null, reason: string, message: string, extra = {}) => {
      await answer(message);
      if (!(await claimDelivery(context))) return;
      deps.runs.refused('approve');
      await deps.store.appendAudit({
        runId,
        actor: clicker.id,
        type: 'refused:approve',
        payload: { reason, ...extra },
      });
    };
    if (!ref) return answer('This confirmation is not valid any more; press Approve again.');
    const [run, lag] = await Promise.all([
      deps.store.getRun(ref.runId),
      deps.store.recentLagSamples(ref.runId, 1),
    ]);
    // The step's own phrase (e.g. allowDataLoss), else the target's name: the engine's rule.
    const asked = run?.steps[ref.step];
    const phrase = run && asked ? confirmationPhrase(run, asked) : run?.target;
    if (!run || phrase === undefined || !typedTargetMatches(typed, phrase)) {
      return refuseInModal(
        run?.id ?? null,
        'typed confirmation did not match',
        asked?.spec.confirmPhrase === undefined
          ? `Type the target's name exactly: ${run?.target ?? 'unknown'}`
          : `Type exactly: ${asked.spec.confirmPhrase}`,
        { typed: typed ?? '' },
      );
    }
    const gate = openGate(run, ref);
    if (typeof gate === 'string') return refuseInModal(run.id, gate, gate);
    const permission = await mayApprove(deps, gate.run, targetOf(gate.run), clicker);
    if (!permission.ok) return refuseInModal(run.id, permission.reason, `Not done: ${permission.reason}`);
    const details = describeGate(gate.run, gate.step, lag[0]);
    const seen = { ...seenConditions(details), typedConfirmation: typed ?? '' };
    const problem = await approve(context, ref, clicker.id, seen, typed ?? '');
    // Only now does Slack hear back: the approval and its claim are committed (or refused).
    await answer(problem ?? undefined);
  };

  app.action<BlockAction<ButtonAction>>(ACTION_ABORT, async ({ ack, body, action, client, context }) => {
    const first = claimDelivery(context);
    await ack();
    if (!(await first)) return;
    const clicker = clickerOf(body);
    const ref = parseStepRef(action.value ?? '');
    if (!ref) return refuse(client, context, clicker, null, 'abort', 'the button did not name a run');
    const run = await deps.store.getRun(ref.runId);
    if (!run) return refuse(client, context, clicker, null, 'abort', 'that run does not exist');
    const permission = await mayAbort(deps, run, targetOf(run), clicker);
    if (!permission.ok) return refuse(client, context, clicker, run.id, 'abort', permission.reason);
    const outcome = await deps.runs.abort(run.id, clicker.id, 'aborted from Slack');
    if (!outcome.ok && clicker.channel) {
      await replyEphemeral(client, clicker.channel, clicker.id, `Not aborted: ${outcome.error}.`);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION_REASK, async ({ ack, body, action, client, context }) => {
    const first = claimDelivery(context);
    await ack();
    if (!(await first)) return;
    const clicker = clickerOf(body);
    const ref = parseStepRef(action.value ?? '');
    if (!ref) return refuse(client, context, clicker, null, 'gate_reopen', 'the button did not name a run');
    const run = await deps.store.getRun(ref.runId);
    if (!run) return refuse(client, context, clicker, null, 'gate_reopen', 'that run does not exist');
    // Asking again is for the people who could abort: the requester, operators and approvers.
    const permission = await mayAbort(deps, run, targetOf(run), clicker);
    if (!permission.ok) return refuse(client, context, clicker, run.id, 'gate_reopen', permission.reason);
    const outcome = await deps.runs.reopenGate(run.id, ref.step, clicker.id);
    if (!outcome.ok && clicker.channel) {
      await replyEphemeral(client, clicker.channel, clicker.id, `Not asked again: ${outcome.error}.`);
    }
  });
}
