// Who may approve: user ids directly, user-group ids through usergroups.users.list, cached
// briefly so a burst of clicks costs one API call but a changed on-call rotation is seen soon.
import type { WebClient } from '@slack/web-api';
import { systemClock, type Clock } from '../ports/clock';

export interface ApproverDirectory {
  isApprover(userId: string, approvers: readonly string[]): Promise<boolean>;
}

export class SlackApproverDirectory implements ApproverDirectory {
  private readonly cache = new Map<string, { members: Set<string>; expiresAt: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly ttlMs = 60_000,
    private readonly clock: Clock = systemClock,
  ) {}

  async isApprover(userId: string, approvers: readonly string[]): Promise<boolean> {
    if (approvers.includes(userId)) return true;
    for (const groupId of approvers.filter((id) => id.startsWith('S'))) {
      if ((await this.members(groupId)).has(userId)) return true;
    }
    return false;
  }

  private async members(groupId: string): Promise<Set<string>> {
    const cached = this.cache.get(groupId);
    if (cached && cached.expiresAt > this.clock.now().getTime()) return cached.members;
    const reply = await this.client.usergroups.users.list({ usergroup: groupId });
    const members = new Set(reply.users ?? []);
    this.cache.set(groupId, { members, expiresAt: this.clock.now().getTime() + this.ttlMs });
    return members;
  }
}
