// The outbound Slack notifier: one progress message per run, gate prompts, thread details.
export {
  DEFAULT_MIN_UPDATE_INTERVAL_MS,
  SlackNotifier,
  type FlushOptions,
  type SlackNotifierDeps,
} from './slack-notifier';
export { gateKey, PROGRESS_KEY, PROGRESS_LAG_SAMPLES } from './publishers';
export { type GateDescription } from './run-slot';
export {
  createSlackClient,
  DEFAULT_SLACK_TIMEOUT_MS,
  isTransient,
  rateLimitedFor,
  type SlackClientOptions,
} from './slack-client';
export { finishedText, gateDecision, threadNotes, type ThreadNote } from './thread-text';
