// What a target gets when neither it nor the file's `defaults` says otherwise (docs/configuration.md).
import type { TargetConfig } from './types';

export const TARGET_DEFAULTS = {
  approvalTimeoutMs: 15 * 60_000,
  requiredApprovals: 1,
  allowSelfApproval: false,
  requireWindow: false,
  cooldownMs: 0,
  reminderMs: 15 * 60_000,
} as const satisfies Partial<TargetConfig>;
