// A stateful local emulator of the AWS APIs the adapters call (EC2, RDS, CloudWatch), reached by
// the project's real AWS SDK clients over HTTP: point them here with the SDK's standard endpoint
// overrides (AWS_ENDPOINT_URL_EC2 / _RDS / _CLOUDWATCH) and the emulator's credentials, which
// env() gives. One clock drives every service's transitions (the system clock by default, a
// ManualClock when a test steps time itself).
import type { Clock } from '../../../../../src/ports/clock';
import { CloudWatchEmulator } from './cloudwatch';
import { Ec2Emulator } from './ec2';
import type { Ec2Durations } from './ec2';
import { EmulatorHttpServer } from './http-server';
import { RdsEmulator } from './rds';
import type { RdsDurations } from './rds';
import type { EmulatorCredentials } from './sigv4';
import { systemClock, Timeline } from './timeline';

export { AwsError } from './aws-error';
import type { RecordedCall } from './call-log';
export type { RecordedCall };
export { CloudWatchEmulator } from './cloudwatch';
export { Ec2Emulator, ec2Error, isDryRun, unauthorizedOperationMessage } from './ec2';
export type { Ec2Durations, InstanceView, SnapshotView, VolumeView } from './ec2';
export { accessDeniedMessage, invalidParameterCombination, rdsError, RdsEmulator } from './rds';
export type { BlueGreenOptions, DbInstanceView, RdsDurations } from './rds';
export { systemClock } from './timeline';

/** The credentials the emulator accepts (test-only values; the signature is checked with them). */
export const EMULATOR_CREDENTIALS: Readonly<EmulatorCredentials> = {
  accessKeyId: 'AKIAEMULATOR0000TEST',
  secretAccessKey: 'emulator-test-secret-not-an-aws-key',
};

export interface AwsEmulatorOptions {
  clock?: Clock;
  /** The region in ARNs and availability zones. Default eu-west-1. */
  region?: string;
  ec2?: Partial<Ec2Durations>;
  rds?: Partial<RdsDurations>;
}

export interface ResetOptions {
  clock?: Clock;
  ec2?: Partial<Ec2Durations>;
  rds?: Partial<RdsDurations>;
}

/** The environment variables the standard configuration reads, pointing at the emulator. */
const ENV_NAMES = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_EC2',
  'AWS_ENDPOINT_URL_RDS',
  'AWS_ENDPOINT_URL_CLOUDWATCH',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
] as const;

export class AwsEmulator {
  private constructor(
    private readonly server: EmulatorHttpServer,
    readonly timeline: Timeline,
    readonly ec2: Ec2Emulator,
    readonly rds: RdsEmulator,
    readonly cloudWatch: CloudWatchEmulator,
  ) {}

  static async start(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
    const region = options.region ?? 'eu-west-1';
    const timeline = new Timeline(options.clock ?? systemClock);
    const ec2 = new Ec2Emulator(timeline, region, options.ec2);
    const rds = new RdsEmulator(timeline, region, options.rds);
    const cloudWatch = new CloudWatchEmulator(timeline);
    const server = await EmulatorHttpServer.listen([ec2, rds, cloudWatch], EMULATOR_CREDENTIALS);
    return new AwsEmulator(server, timeline, ec2, rds, cloudWatch);
  }

  get url(): string {
    return this.server.url;
  }

  /** Every service emptied (calls, faults, permissions, state), with these durations and clock. */
  reset(options: ResetOptions = {}): this {
    this.timeline.useClock(options.clock ?? systemClock);
    this.ec2.reset(options.ec2);
    this.rds.reset(options.rds);
    this.cloudWatch.reset();
    return this;
  }

  /** What the SDK's standard configuration needs to reach the emulator. */
  env(): Record<(typeof ENV_NAMES)[number], string | undefined> {
    return {
      AWS_ENDPOINT_URL: undefined,
      AWS_ENDPOINT_URL_EC2: this.url,
      AWS_ENDPOINT_URL_RDS: this.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.url,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
    };
  }

  /** Sets env() in process.env; the returned function puts the earlier values back. */
  applyEnv(): () => void {
    const saved = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));
    setEnv(this.env());
    return () => setEnv(saved);
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

function setEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

export interface StartedEmulator {
  /** The emulator (it exists once beforeAll has run). */
  get(): AwsEmulator;
  /** Puts the environment back and closes the emulator. */
  close(): Promise<void>;
}

/**
 * For a test file whose own afterAll must run before the emulator closes (a runtime still calling
 * AWS while it stops): the emulator starts in beforeAll with the environment pointing at it, and
 * the file closes it last.
 */
export function startAwsEmulatorBeforeAll(options: AwsEmulatorOptions = {}): StartedEmulator {
  let emulator: AwsEmulator | undefined;
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    emulator = await AwsEmulator.start(options);
    restoreEnv = emulator.applyEnv();
  });
  return {
    get: () => {
      if (emulator === undefined) throw new Error('the AWS emulator starts in beforeAll');
      return emulator;
    },
    close: async () => {
      restoreEnv?.();
      restoreEnv = undefined;
      await emulator?.close();
      emulator = undefined;
    },
  };
}

/**
 * For a test file: the emulator started before its tests with the environment pointing at it, and
 * closed after them. Returns a getter.
 */
export function useAwsEmulator(options: AwsEmulatorOptions = {}): () => AwsEmulator {
  const started = startAwsEmulatorBeforeAll(options);
  afterAll(() => started.close());
  return () => started.get();
}

/**
 * Moves a ManualClock by `stepMs` each time `service` has answered a call of `action` (say, each
 * poll of a waiter): the test decides how much time every look takes. Returns the function that
 * stops it.
 */
export function advancePerCall(
  service: { onCall(listener: (call: RecordedCall) => void): () => void },
  action: string,
  clock: { advance(ms: number): void },
  stepMs: number,
): () => void {
  return service.onCall((call) => {
    if (call.action === action) clock.advance(stepMs);
  });
}
