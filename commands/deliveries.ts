// Slack may deliver the same request more than once (retries with X-Slack-Retry-Num, a user's
// double click replayed by the network). Each delivery is claimed in PostgreSQL first; a repeat is
// acknowledged and dropped, so it can never act twice, whichever process receives it.
import type { AnyMiddlewareArgs, App } from '@slack/bolt';
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

export function registerDeliveryDedupe(app: App, store: RunStore): void {
  app.use(async (args) => {
    const key = deliveryKey(args.body);
    if (key && !(await store.claimSlackDelivery(key))) {
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      args.logger.info(`duplicate Slack delivery ${key} dropped`);
      return;
    }
    await args.next();
  });
}
