// Typed, validated configuration. Built once at start-up by src/config/*, then frozen and trusted.

/** A secret named by reference (`env:NAME` in the targets file); resolved only when used. */
export class SecretRef {
  constructor(readonly envName: string) {}
  toString(): string {
    return `env:${this.envName}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

export interface MaintenanceWindow {
  cron: string;
  durationMs: number;
  timezone: string;
}

export interface TargetConfig {
  name: string;
  strategy: string;
  channel: string;
  /** Slack user ids (U…/W…) and user-group ids (S…). */
  approvers: string[];
  /**
   * Who may start, schedule and abort runs (user and user-group ids, `operators`); unset: anyone in
   * the target's channel may start or schedule, and the requester and approvers abort.
   */
  operators?: string[];
  approvalTimeoutMs: number;
  requiredApprovals: number;
  allowSelfApproval: boolean;
  windows: MaintenanceWindow[];
  /** Runs start only inside a window (`requireWindow`, default false). */
  requireWindow: boolean;
  /** Least time between two cutovers of the target (`cooldown`); 0 = none, the default. */
  cooldownMs: number;
  /** Lead time of the reminder before a scheduled start (`reminder`, default 15m); 0 = none. */
  reminderMs: number;
  /**
   * The strategy-specific part of the entry (every key but the common ones above), as parsed by
   * that strategy's schema. Strategies narrow it with their own type.
   */
  settings: Readonly<Record<string, unknown>>;
}

export interface TargetsConfig {
  /** Absolute path of the file it was read from, for messages. */
  path: string;
  targets: readonly TargetConfig[];
}

export type Role = 'all' | 'web' | 'worker';

export interface SlackSettings {
  signingSecret: string;
  botToken: string;
  appToken: string | null;
  apiUrl: string | null;
}

export interface MetricsSettings {
  /** METRICS_TOKEN: GET /metrics answers only `Authorization: Bearer <token>`. */
  token: string | null;
  /** METRICS_LISTEN: /metrics is served on this address alone, not on PORT. */
  listen: { host: string; port: number } | null;
}

export interface AppConfig {
  /** null: no SLACK_BOT_TOKEN; with `localConsole` the bot runs its local console, else no Slack side. */
  slack: SlackSettings | null;
  /** CUTOVER_LOCAL_CONSOLE=1 (and no Slack settings): serve the local console, loopback only. */
  localConsole?: boolean;
  /** How /metrics is protected; absent: served on PORT to anyone, as before. */
  metrics?: MetricsSettings;
  databaseUrl: string;
  redisUrl: string;
  configPath: string;
  port: number;
  role: Role;
  logLevel: string;
}
