// What every emulated service does around its actions: authenticate, record the call, apply the
// faults a test injected, check permissions, settle the clock, run the action, answer in the
// service's wire protocol. A service adds its state, its actions and its own error codes.
import { randomUUID } from 'node:crypto';

import { AwsError } from './aws-error';
import { CallLog } from './call-log';
import type { RecordedCall } from './call-log';
import { FaultPlan } from './faults';
import type { CallFilter } from './faults';
import type { EmulatedService, Reply, SignedRequest } from './http-server';
import type { WireProtocol } from './protocol';
import type { RequestAuth } from './sigv4';
import type { Timeline } from './timeline';

export type ErrorSource = AwsError | (() => AwsError);

/** Orders calls across services (and emulators) in one process. */
let callSequence = 0;

export interface FaultOptions {
  /** How many calls meet the fault. Default 1. */
  count?: number;
  /** Only calls whose parameters it accepts. */
  when?: CallFilter;
}

export abstract class EmulatedServiceBase<Input> implements EmulatedService {
  abstract readonly signingName: string;
  protected abstract readonly protocol: WireProtocol<Input>;
  /** The actions it answers; each returns its payload in the protocol's format or throws AwsError. */
  protected abstract readonly handlers: Readonly<Record<string, (input: Input) => string>>;
  /**
   * EC2 checks permissions after it has found the resources named (so a DryRun of an unknown
   * volume is InvalidVolume.NotFound): its actions call authorize() themselves.
   */
  protected readonly permissionCheckedByAction: boolean = false;
  private readonly log = new CallLog();
  private readonly faults = new FaultPlan();
  private readonly denied = new Set<string>();
  private readonly listeners = new Set<(call: RecordedCall) => void>();

  constructor(protected readonly timeline: Timeline) {}

  /** The service's answer to a throttled call (its code and HTTP status). */
  protected abstract throttlingError(): AwsError;
  /** The service's answer to a call the caller's policy does not allow. */
  protected abstract notAuthorized(action: string): AwsError;
  protected abstract authenticationFailure(reason: Exclude<RequestAuth, { ok: true }>['reason']): AwsError;
  /** One line per call for the log. */
  protected abstract summarize(action: string, params: Readonly<Record<string, unknown>>): string;

  get calls(): readonly RecordedCall[] {
    return this.log.calls;
  }

  /** Calls of `action`: all, only successful ones ('ok'), or those that ended in `outcome`. */
  count(action: string, outcome: string = 'all'): number {
    return this.log.count(action, outcome);
  }

  /** `Action` or `Action!Outcome` per call from call number `from`, leaving out `except`. */
  commands(from = 0, except: readonly string[] = []): string[] {
    return this.log.commands(from, except);
  }

  /** Every call of these actions is refused as the caller's policy would (DryRun or not). */
  deny(...actions: string[]): this {
    for (const action of actions) this.denied.add(action);
    return this;
  }

  allow(...actions: string[]): this {
    for (const action of actions) this.denied.delete(action);
    return this;
  }

  /** The next calls of `action` are throttled, with the service's own code and status. */
  throttle(action: string, options: FaultOptions = {}): this {
    return this.failNext(action, () => this.throttlingError(), options);
  }

  /** The next calls of `action` are answered with `error` and not acted on. */
  failNext(action: string, error: ErrorSource, options: FaultOptions = {}): this {
    const make = typeof error === 'function' ? error : () => error;
    this.faults.add(action, { kind: 'error', error: make }, options.count ?? 1, options.when);
    return this;
  }

  failAlways(action: string, error: ErrorSource): this {
    return this.failNext(action, error, { count: Number.POSITIVE_INFINITY });
  }

  /** The next calls of `action` are acted on, then the connection drops before the answer. */
  loseNextResponse(action: string, options: FaultOptions = {}): this {
    this.faults.add(action, { kind: 'lose-response' }, options.count ?? 1, options.when);
    return this;
  }

  /**
   * `listener` sees each call once it is recorded, before the answer leaves (a test can step a
   * ManualClock per poll with it). Returns the function that stops it.
   */
  onCall(listener: (call: RecordedCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next calls of `action` are acted on, then answered with a body cut short. */
  garbleNextResponse(action: string, options: FaultOptions = {}): this {
    this.faults.add(action, { kind: 'garble-response' }, options.count ?? 1, options.when);
    return this;
  }

  /** Forgets calls, faults and permissions (the service's own state is reset by the service). */
  protected resetBase(): void {
    this.log.clear();
    this.listeners.clear();
    this.faults.clear();
    this.denied.clear();
  }

  private record(call: RecordedCall): void {
    this.log.push(call);
    for (const listener of this.listeners) listener(call);
  }

  protected authorize(action: string): void {
    if (this.denied.has(action)) throw this.notAuthorized(action);
  }

  /** Applies whatever the clock says has happened by now. */
  protected settle(): void {
    this.timeline.settle();
  }

  serve(request: SignedRequest): Reply {
    const requestId = randomUUID();
    let decoded;
    try {
      decoded = this.protocol.decode(request.body, request.headers);
    } catch (error) {
      return this.protocol.failure(asAwsError(error), requestId);
    }
    const { action, input, params } = decoded;
    const entry = {
      sequence: ++callSequence,
      action,
      params,
      region: request.auth.region ?? 'unknown',
      headers: request.headers,
      requestId,
      summary: this.summarize(action, params),
      at: this.timeline.clock.now(),
    };
    const fail = (error: AwsError): Reply => {
      this.record({ ...entry, outcome: error.code });
      return this.protocol.failure(error, requestId);
    };
    if (!request.auth.ok) return fail(this.authenticationFailure(request.auth.reason));
    const handler = this.handlers[action];
    if (handler === undefined) {
      return fail(
        new AwsError('InvalidAction', 400, `The action ${action} is not valid for this web service.`),
      );
    }
    const fault = this.faults.take(action, params);
    if (fault?.kind === 'error') return fail(fault.error());
    let payload: string;
    try {
      this.settle();
      if (!this.permissionCheckedByAction) this.authorize(action);
      payload = handler(input);
    } catch (error) {
      if (fault?.kind === 'lose-response' || fault?.kind === 'garble-response') {
        this.record({ ...entry, outcome: `lost-response:${asAwsError(error).code}` });
        return 'drop';
      }
      return fail(asAwsError(error));
    }
    if (fault?.kind === 'lose-response') {
      this.record({ ...entry, outcome: 'lost-response' });
      return 'drop';
    }
    const reply = this.protocol.success(action, payload, requestId);
    if (fault?.kind === 'garble-response') {
      this.record({ ...entry, outcome: 'garbled-response' });
      return { ...reply, body: reply.body.slice(0, Math.floor(reply.body.length / 2)) };
    }
    this.record({ ...entry, outcome: 'ok' });
    return reply;
  }
}

/** An AwsError as it is; anything else is a bug in the emulator, answered as AWS's 500. */
function asAwsError(error: unknown): AwsError {
  if (error instanceof AwsError) return error;
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new AwsError('InternalError', 500, `emulator failure: ${detail}`);
}
