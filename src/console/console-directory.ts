// Who and where the local console's workspace holds, derived from the targets file: the person at the
// keyboard, every configured approver, two members for each approver user group, and one channel per
// target channel. Pure.
import type { TargetConfig } from '../config/types';
import type { SlackChannel, SlackUser } from './slack-workspace';

/** The person at the keyboard: the requester by default. */
export const LOCAL_USER_ID = 'U0LOCALYOU';
/** Where commands go when no target names a channel. */
export const FALLBACK_CHANNEL: SlackChannel = { id: 'C0CUTOVERS0', name: 'cutovers' };
/** Synthetic members per approver user group. */
export const MEMBERS_PER_GROUP = 2;

export type ConsoleRole = 'requester' | 'approver' | 'group-member';

export interface ConsoleUser extends SlackUser {
  realName: string;
  role: ConsoleRole;
  /** User groups (S…) the user is a member of. */
  groups: string[];
  /** Targets the user may approve (directly or through a group). */
  approves: string[];
}

export interface ConsoleGroup {
  id: string;
  /** The handle shown for `<!subteam^S…>`, without the @. */
  handle: string;
  members: string[];
}

export interface ConsoleChannel extends SlackChannel {
  /** Targets operated from this channel. */
  targets: string[];
}

export interface ConsoleDirectory {
  users: ConsoleUser[];
  groups: ConsoleGroup[];
  channels: ConsoleChannel[];
}

const isGroup = (id: string): boolean => id.startsWith('S');

/** "S0DBAONCALL" → "dbaoncall"; falls back to the lowercased id. */
function groupHandle(id: string): string {
  const handle = id
    .slice(1)
    .replace(/^0+/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '');
  return handle === '' ? id.toLowerCase() : handle;
}

/** A user id no one has yet, from a preferred one (suffixes 2, 3, … on a clash). */
function freshId(preferred: string, taken: Set<string>): string {
  let id = preferred;
  for (let n = 2; taken.has(id); n += 1) id = `${preferred}${n}`;
  taken.add(id);
  return id;
}

export function buildConsoleDirectory(targets: readonly TargetConfig[]): ConsoleDirectory {
  const users = new Map<string, ConsoleUser>();
  const taken = new Set<string>([LOCAL_USER_ID]);
  users.set(LOCAL_USER_ID, {
    id: LOCAL_USER_ID,
    name: 'you',
    realName: 'You (requester)',
    role: 'requester',
    groups: [],
    approves: [],
  });

  // Direct approvers first, in file order, so their numbering follows the file.
  const approverIds: string[] = [];
  const groupIds: string[] = [];
  for (const target of targets) {
    for (const id of target.approvers) {
      const list = isGroup(id) ? groupIds : approverIds;
      if (!list.includes(id)) list.push(id);
    }
  }
  approverIds.forEach((id, i) => {
    taken.add(id);
    if (users.has(id)) return; // the local user listed as an approver keeps its name
    users.set(id, {
      id,
      name: `approver-${i + 1}`,
      realName: `Approver ${i + 1}`,
      role: 'approver',
      groups: [],
      approves: [],
    });
  });

  const groups: ConsoleGroup[] = groupIds.map((id) => {
    const handle = groupHandle(id);
    const members: string[] = [];
    for (let n = 1; n <= MEMBERS_PER_GROUP; n += 1) {
      const memberId = freshId(
        `U${id
          .slice(1)
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')}M${n}`,
        taken,
      );
      members.push(memberId);
      users.set(memberId, {
        id: memberId,
        name: `${handle}-${n}`,
        realName: `Member ${n} of @${handle}`,
        role: 'group-member',
        groups: [id],
        approves: [],
      });
    }
    return { id, handle, members };
  });

  for (const target of targets) {
    for (const user of users.values()) {
      const direct = target.approvers.includes(user.id);
      const viaGroup = user.groups.some((g) => target.approvers.includes(g));
      if ((direct || viaGroup) && !user.approves.includes(target.name)) user.approves.push(target.name);
    }
  }

  const channels: ConsoleChannel[] = [];
  for (const target of targets) {
    const known = channels.find((c) => c.id === target.channel);
    if (known) known.targets.push(target.name);
    else channels.push({ id: target.channel, name: `${target.name}-cutovers`, targets: [target.name] });
  }
  if (channels.length === 0) channels.push({ ...FALLBACK_CHANNEL, targets: [] });

  return { users: [...users.values()], groups, channels };
}
