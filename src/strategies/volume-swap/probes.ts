// The volume swap's view of the two databases, each through its own health check: is it up (and
// with which data: PostgreSQL's system identifier), and is it provably down. Down means connections
// are refused several times in a row: a timeout may be a hung server that still has the files open,
// and an authentication or capacity error comes from a server that runs.
import { toSideHealthTarget, type Side } from '../../config/health-schema';
import { fatal } from '../../engine/failures';
import type { HealthChecker, HealthResult, HealthTarget } from '../../ports/health';
import type { SwapVolume } from './config';

export type { Side };

/** Pause between the probes of one proof: a database restarting (a supervisor) shows in it. */
const PROOF_SPACING_MS = 20;

export interface DownProof {
  down: boolean;
  /** The last reading: the one that broke the proof, or the last refused one. */
  last: HealthResult;
}

/** "refused (ECONNREFUSED …)" for messages and the record. */
export function describeReading(reading: Pick<HealthResult, 'reach' | 'detail'>): string {
  return `${reading.reach}: ${reading.detail}`;
}

export class SideProbes {
  constructor(
    private readonly health: HealthChecker,
    private readonly env: NodeJS.ProcessEnv,
    private readonly volume: SwapVolume,
  ) {}

  instanceOf(side: Side): string {
    return this.volume[side].instanceId;
  }

  /** The side's probe target; a config that cannot be resolved (an unset variable) is fatal. */
  target(side: Side): HealthTarget {
    try {
      return toSideHealthTarget(this.volume.health, side, this.env, {
        instanceId: this.instanceOf(side),
        region: this.volume.region,
      });
    } catch (error) {
      throw fatal(`the health check of ${side} (${this.instanceOf(side)}): ${(error as Error).message}`);
    }
  }

  /** Whether the side's check can name the data it serves (PostgreSQL only). */
  readsIdentity(side: Side): boolean {
    return this.target(side).kind === 'postgres';
  }

  check(side: Side): Promise<HealthResult> {
    return this.health.check(this.target(side), this.volume.probeTimeout);
  }

  /**
   * `downProbes` readings in a row that show nothing serving: refused connections, or, on an
   * instance EC2 shows stopped (whose address drops packets), no answer at all. Stops at the first
   * reading that does not count.
   */
  async proveDown(side: Side, instanceStopped: boolean): Promise<DownProof> {
    let last: HealthResult | null = null;
    for (let i = 0; i < this.volume.downProbes; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, PROOF_SPACING_MS));
      last = await this.check(side);
      if (!countsAsDown(last, instanceStopped)) return { down: false, last };
    }
    return { down: true, last: last as HealthResult };
  }
}

function countsAsDown(reading: HealthResult, instanceStopped: boolean): boolean {
  if (reading.reach === 'refused') return true;
  return instanceStopped && (reading.reach === 'timeout' || reading.reach === 'error');
}
