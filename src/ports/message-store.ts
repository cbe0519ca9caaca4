/**
 * Where the bot remembers the Slack messages it posted for a run, so that they are created exactly once
 * even when several processes (web and worker roles) notify about the same run, and updated in place.
 *
 * Keys: `progress` (the run's one progress message) and `gate:<step>:<round>` (an approval prompt).
 */
export interface SlackMessageRef {
  /** Null while the claim's holder has not posted yet (when the claim named no channel). */
  channel: string | null;
  /** Null while the claim's holder has not posted yet. */
  ts: string | null;
}

export interface MessageStore {
  /**
   * Claims the right to create the message `key` of a run: true for the first claimer of
   * (runId, key) across all processes, false for everyone after. The winner posts, then `setTs`.
   * `channel` (optional) is recorded with the claim.
   */
  claim(runId: string, key: string, channel?: string): Promise<boolean>;
  /** Records where the claimed message was posted. */
  setTs(runId: string, key: string, channel: string, ts: string): Promise<void>;
  /** Null when nobody claimed the key; `ts` null when it was claimed but not (yet) posted. */
  get(runId: string, key: string): Promise<SlackMessageRef | null>;
}
