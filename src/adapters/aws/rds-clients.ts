// The SDK clients the RDS adapter sends with, one per region for the adapter's lifetime. Clients
// come from the SDK's standard configuration: the region of the target, the default credential
// chain, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_RDS (and _CLOUDWATCH) read by the SDK itself. Nothing
// here names an endpoint or a credential.
//
// Irreversible requests (PromoteReadReplica, SwitchoverBlueGreenDeployment, ModifyDBInstance,
// ApplyPendingMaintenanceAction, RebootDBInstance) go out once per call, on a client that does not retry: the SDK's
// standard retry sends a request again after a connection reset or a 5xx, when RDS may already
// have carried it out, and the answer to that second request (InvalidDBInstanceState, say) would
// read as a definite refusal. The executors decide what an unknown outcome means (describe, never
// send again); throttling reaches them as a definite "not now".
import { RegionalClients } from './regional-clients';
import { RDSClient } from '@aws-sdk/client-rds';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

export type RdsClientFactory = (region: string) => RDSClient;
export type CloudWatchClientFactory = (region: string) => CloudWatchClient;

/** The SDK's standard retry mode: throttling and transient errors back off and retry. */
export const AWS_CLIENT_RETRY = { retryMode: 'standard', maxAttempts: 5 } as const;

export const defaultRdsClientFactory: RdsClientFactory = (region) =>
  new RDSClient({ region, ...AWS_CLIENT_RETRY });

export const defaultCloudWatchClientFactory: CloudWatchClientFactory = (region) =>
  new CloudWatchClient({ region, ...AWS_CLIENT_RETRY });

/** One attempt: the SDK never sends an irreversible request a second time. */
export const SEND_ONCE = { maxAttempts: 1 } as const;

export const defaultRdsSendOnceClientFactory: RdsClientFactory = (region) =>
  new RDSClient({ region, ...SEND_ONCE });

/** A region's two RDS clients: reads retry, irreversible requests go out once. */
export class RdsClients {
  private readonly reads: RegionalClients<RDSClient>;
  private readonly once: RegionalClients<RDSClient>;

  constructor(factories: { rds?: RdsClientFactory; sendOnce?: RdsClientFactory } = {}) {
    this.reads = new RegionalClients(factories.rds ?? defaultRdsClientFactory);
    this.once = new RegionalClients(factories.sendOnce ?? defaultRdsSendOnceClientFactory);
  }

  /** The region's client of reads (the SDK's standard retry). */
  rds(region: string): RDSClient {
    return this.reads.of(region);
  }

  /** The region's client of irreversible requests: one attempt each. */
  sendOnce(region: string): RDSClient {
    return this.once.of(region);
  }

  destroy(): void {
    this.reads.destroy();
    this.once.destroy();
  }
}
