// Slack may deliver the same request more than once (retries with X-Slack-Retry-Num, a user's
// double click replayed by the network). Each delivery is claimed in PostgreSQL; a repeat is
// acknowledged and dropped, so it can never act twice, whichever process receives it.
//
// Commands and clicks ack with nothing that depends on stored state, so their claim runs while the
// listener acks (Slack's 3-second limit never waits for PostgreSQL) and the listener awaits
// `firstDelivery` before it reads or changes anything. A modal submission's ack can carry errors
// about the run, so its claim still comes first.
import type { AnyMiddlewareArgs, App, Context } from '@slack/bolt';
import type { RunStore } from '../src/ports/run-store';

/** A stable key for a delivery, or null when the payload has nothing that identifies it. */
export function deliveryKey(body: AnyMiddlewareArgs['body']): string | null {
  const record = body as unknown as Record<string, unknown>;
  if (typeof record['command'] === 'string' && typeof record['trigger_id'] === 'string') {
    return `command:${record['trigger_id']}`;
  }
  if (record['type'] === 'block_actions' && Array.isArray(record['actions'])) {
    const action = record['actions'][0] as { action_id?: string; action_ts?: string } | undefined;
    const user = (record['user'] as { id?: string } | undefined)?.id;
    if (action?.action_ts && user) return `action:${user}:${action.action_id ?? ''}:${action.action_ts}`;
  }
  if (record['type'] === 'view_submission') {
    // Each submission has its own trigger id (a redelivery repeats the body, trigger id and all);
    // the view's hash does not change when the bot answered the last submission with errors, so
    // it cannot tell a corrected resubmission from a repeat.
    const view = record['view'] as { id?: string } | undefined;
    const trigger = record['trigger_id'];
    if (view?.id && typeof trigger === 'string') return `view:${view.id}:${trigger}`;
  }
  if (typeof record['event_id'] === 'string') return `event:${record['event_id']}`;
  return null;
}

/** Where the middleware leaves a delivery's claim for its listener. */
const CLAIM = 'cutoverDeliveryClaim';

function ackWaitsForClaim(body: AnyMiddlewareArgs['body']): boolean {
  return (body as unknown as Record<string, unknown>)['type'] === 'view_submission';
}

/** `onDuplicate` is told of every repeat dropped (metrics count them as refused requests). */
export function registerDeliveryDedupe(
  app: App,
  store: RunStore,
  onDuplicate: () => void = () => undefined,
): void {
  app.use(async (args) => {
    const key = deliveryKey(args.body);
    const dropped = (): void => {
      args.logger.info(`duplicate Slack delivery ${key} dropped`);
      onDuplicate();
    };
    if (key === null) {
      await args.next();
      return;
    }
    if (ackWaitsForClaim(args.body)) {
      if (!(await store.claimSlackDelivery(key))) {
        if ('ack' in args && typeof args.ack === 'function') await args.ack();
        dropped();
        return;
      }
      await args.next();
      return;
    }
    const claim = store.claimSlackDelivery(key).then((first) => {
      if (!first) dropped();
      return first;
    });
    // The listener awaits it; this only keeps a failed claim from counting as unhandled meanwhile.
    claim.catch(() => undefined);
    args.context[CLAIM] = claim;
    await args.next();
  });
}

/**
 * True for the one delivery of a request that may act; false for a repeat. Every command and click
 * listener awaits this right after `ack()` and before anything else. Rejects when the claim could
 * not be written (the state store is down): the listener then must not act either.
 */
export async function firstDelivery(context: Context): Promise<boolean> {
  const claim: unknown = context[CLAIM];
  return claim instanceof Promise ? ((await claim) as boolean) : true;
}
