// The chat.update budget shared by every process of one deployment (web and workers): Slack counts
// per workspace, not per process. A sorted set of the minute's updates (score = wall time in ms);
// one Lua script checks and takes a place atomically, so processes asking at once cannot all see
// the same free place. While Redis does not answer, each process falls back to its own budget.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { withTimeout } from '../../metrics/timeout';
import type { Logger } from '../../ports/logger';
import {
  DEFAULT_UPDATE_BUDGET,
  MINUTE_MS,
  UpdateBudget,
  limitsOf,
  type ChatUpdateBudget,
  type UpdateBudgetOptions,
} from '../../ports/update-budget';

// KEYS[1] the set; ARGV: now, minute, perMinute, paceWindowMs (0: none), paceLimit, member.
// Returns 0 when a place was taken, else the wall time at which one frees (as UpdateBudget.notBefore).
const TAKE_SCRIPT = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local minute = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local pace = tonumber(ARGV[4])
local paceLimit = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - minute)
local at = 0
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  at = tonumber(oldest[2]) + minute
end
if pace > 0 then
  local floor = '(' .. tostring(now - pace)
  local recent = redis.call('ZCOUNT', key, floor, '+inf')
  if recent >= paceLimit then
    local leaving = redis.call('ZRANGEBYSCORE', key, floor, '+inf', 'WITHSCORES', 'LIMIT', recent - paceLimit, 1)
    local free = tonumber(leaving[2]) + pace
    if free > at then at = free end
  end
end
if at == 0 then
  redis.call('ZADD', key, now, ARGV[6])
  redis.call('PEXPIRE', key, minute + 1000)
end
return at
`;

export interface RedisUpdateBudgetOptions {
  redis: Redis;
  /** One key per deployment and workspace. */
  key: string;
  budget?: UpdateBudgetOptions;
  /** How long a take may wait for Redis before this process uses its own budget. Default 500 ms. */
  timeoutMs?: number;
  log: Logger;
}

export class RedisUpdateBudget implements ChatUpdateBudget {
  private readonly options: UpdateBudgetOptions;
  private readonly local: UpdateBudget;
  private readonly timeoutMs: number;
  private degraded = false;

  constructor(private readonly deps: RedisUpdateBudgetOptions) {
    this.options = deps.budget ?? DEFAULT_UPDATE_BUDGET;
    this.local = new UpdateBudget(this.options);
    this.timeoutMs = deps.timeoutMs ?? 500;
  }

  async take(now: number, lagOnly: boolean): Promise<number> {
    const { perMinute, pace } = limitsOf(this.options, lagOnly);
    try {
      const answer = await withTimeout(
        this.deps.redis.eval(
          TAKE_SCRIPT,
          1,
          this.deps.key,
          now,
          MINUTE_MS,
          perMinute,
          pace?.windowMs ?? 0,
          pace?.limit ?? 0,
          `${now}:${randomUUID()}`,
        ),
        this.timeoutMs,
        'Redis (chat.update budget)',
      );
      if (this.degraded)
        this.deps.log.info({ key: this.deps.key }, 'chat.update budget shared through Redis again');
      this.degraded = false;
      // The local budget keeps count too, so a fall-back starts from what this process sent.
      if (Number(answer) === 0) this.local.record(now);
      return Number(answer);
    } catch (error) {
      if (!this.degraded) {
        this.deps.log.warn(
          { err: error },
          'chat.update budget: Redis does not answer; this process uses its own',
        );
      }
      this.degraded = true;
      return this.local.takeNow(now, lagOnly);
    }
  }
}
