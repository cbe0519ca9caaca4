// Slack may deliver the same request more than once (retries with X-Slack-Retry-Num, a user's
// double click replayed by the network). Each delivery that may act is claimed in PostgreSQL; a
// repeat is acknowledged and dropped, so it can never act twice, whichever process receives it.
//
// The middleware only names the delivery; each listener decides how it is claimed:
// - an approval (the Approve button, the confirmation modal) is claimed inside the transaction that
//   stores it, before the ack, so a crash keeps both or neither (`deliveryKeyOf`);
// - other commands and clicks ack with nothing that depends on stored state: their claim starts
//   as the listener acks and is awaited before anything is read or changed (`claimDelivery`);
// - read-only commands are not claimed at all: answering twice changes nothing.
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

/** Where the middleware leaves a delivery's key and claim for its listener. */
const DELIVERY = 'cutoverDelivery';

interface Delivery {
  key: string | null;
  /** Started by the first `claimDelivery`; the same promise for every later call. */
  claim?: Promise<boolean>;
  store: RunStore;
  dropped: () => void;
}

/** `onDuplicate` is told of every repeat dropped (metrics count them as refused requests). */
export function registerDeliveryDedupe(
  app: App,
  store: RunStore,
  onDuplicate: () => void = () => undefined,
): void {
  app.use(async (args) => {
    const key = deliveryKey(args.body);
    const delivery: Delivery = {
      key,
      store,
      dropped: () => {
        args.logger.info(`duplicate Slack delivery ${key ?? ''} dropped`);
        onDuplicate();
      },
    };
    args.context[DELIVERY] = delivery;
    await args.next();
  });
}

function deliveryOf(context: Context): Delivery | undefined {
  return context[DELIVERY] as Delivery | undefined;
}

/**
 * Starts claiming this delivery (once; later calls get the same answer): true for the one delivery
 * of a request that may act, false for a repeat. Rejects when the claim could not be written (the
 * state store is down): the listener then must not act either. Call it before `ack()` so the write
 * overlaps the ack, and await it before reading or changing anything.
 */
export function claimDelivery(context: Context): Promise<boolean> {
  const delivery = deliveryOf(context);
  if (!delivery || delivery.key === null) return Promise.resolve(true);
  if (!delivery.claim) {
    delivery.claim = delivery.store.claimSlackDelivery(delivery.key).then((first) => {
      if (!first) delivery.dropped();
      return first;
    });
    // The listener awaits it; this only keeps a failed claim from counting as unhandled meanwhile.
    delivery.claim.catch(() => undefined);
  }
  return delivery.claim;
}

/** The delivery's key, for a decision that claims it in its own transaction (an approval). */
export function deliveryKeyOf(context: Context): string | undefined {
  return deliveryOf(context)?.key ?? undefined;
}

/** A decision's transaction found its delivery claimed already: count and log it as dropped. */
export function duplicateDropped(context: Context): void {
  deliveryOf(context)?.dropped();
}
