// The outbound Slack notifier: one progress message per run, gate prompts, thread details.
export {
  DEFAULT_MIN_UPDATE_INTERVAL_MS,
  gateKey,
  PROGRESS_KEY,
  PROGRESS_LAG_SAMPLES,
  SlackNotifier,
  type FlushOptions,
  type GateDescription,
  type SlackNotifierDeps,
} from './slack-notifier';
export {
  createSlackClient,
  DEFAULT_SLACK_TIMEOUT_MS,
  isTransient,
  rateLimitedFor,
  type SlackClientOptions,
} from './slack-client';
export { finishedText, gateDecision, threadNotes, type ThreadNote } from './thread-text';
