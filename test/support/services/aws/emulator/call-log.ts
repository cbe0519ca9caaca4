// What reached an emulated service, in order: every request it read, what it answered, and a
// one-line summary tests compare ("DetachVolume vol-0... i-0... force=false").
import type { IncomingHttpHeaders } from 'node:http';

export interface RecordedCall {
  /** Order among the calls of every emulated service (to merge RDS's and CloudWatch's logs). */
  sequence: number;
  action: string;
  /** The request's parameters as sent: Query form values (strings), or the JSON body's members. */
  params: Readonly<Record<string, unknown>>;
  /** The region the request was signed for. */
  region: string;
  /** The request id the answer carried (x-amzn-RequestId), which the SDK reports in $metadata. */
  requestId: string;
  /** The request's HTTP headers (e.g. the SDK's amz-sdk-request: attempt=2; max=5). */
  headers: Readonly<IncomingHttpHeaders>;
  /**
   * 'ok', the error code answered, 'lost-response' (acted on, then the connection dropped) or
   * 'garbled-response' (acted on, then an answer cut short).
   */
  outcome: string;
  summary: string;
  /** The emulator clock when the request arrived. */
  at: Date;
}

export class CallLog {
  readonly calls: RecordedCall[] = [];

  push(call: RecordedCall): void {
    this.calls.push(call);
  }

  /** Calls of `action`: all of them, only successful ones ('ok'), or those that ended in `outcome`. */
  count(action: string, outcome: string = 'all'): number {
    return this.calls.filter(
      (call) => call.action === action && (outcome === 'all' || call.outcome === outcome),
    ).length;
  }

  /** `Action` or `Action!Outcome` per call from call number `from`, leaving out `except`. */
  commands(from = 0, except: readonly string[] = []): string[] {
    return this.calls
      .slice(from)
      .filter((call) => !except.includes(call.action))
      .map((call) => (call.outcome === 'ok' ? call.action : `${call.action}!${call.outcome}`));
  }

  clear(): void {
    this.calls.length = 0;
  }
}
