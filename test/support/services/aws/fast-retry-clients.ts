// SDK clients for tests that make the SDK retry many times: the standard retry strategy with the
// same attempt count (maxAttempts as well: the amz-sdk-request header reads it), with a 1 ms backoff
// instead of the SDK's (seconds for throttling). Endpoint and credentials come from the environment
// (useAwsEmulator sets it), as in production.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

export function fastEc2Client(region: string, maxAttempts = 5): EC2Client {
  return new EC2Client({ region, maxAttempts, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 1) });
}

export function fastRdsClient(region: string, maxAttempts = 5): RDSClient {
  return new RDSClient({ region, maxAttempts, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 1) });
}

export function fastCloudWatchClient(region: string, maxAttempts = 5): CloudWatchClient {
  return new CloudWatchClient({
    region,
    maxAttempts,
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 1),
  });
}
