// AWS JSON 1.0 on the wire, in its Query-compatible form (what the installed
// @aws-sdk/client-cloudwatch speaks: CloudWatch moved off awsQuery): a POST with
// `X-Amz-Target: <ServiceTarget>.<Action>` and a JSON body, answered with JSON; an error carries its
// Query error code in the `x-amzn-query-error: Code;Sender` header, which the SDK reads first.
import type { IncomingHttpHeaders } from 'node:http';

import { AwsError } from './aws-error';
import type { HttpReply } from './http-server';
import type { DecodedRequest, WireProtocol } from './protocol';

export const JSON_1_0 = 'application/x-amz-json-1.0';

export class JsonProtocol implements WireProtocol<Record<string, unknown>> {
  constructor(
    private readonly serviceTarget: string,
    private readonly errorNamespace: string,
  ) {}

  decode(body: string, headers: IncomingHttpHeaders): DecodedRequest<Record<string, unknown>> {
    const contentType = String(headers['content-type'] ?? '');
    if (!contentType.startsWith(JSON_1_0)) {
      // A newer SDK may speak another protocol (Smithy RPC v2 CBOR): say so rather than guess.
      throw new AwsError(
        'UnsupportedProtocol',
        400,
        `this emulator speaks awsJson1_0 with ${this.serviceTarget}; the request came as ${contentType || 'no content type'}`,
      );
    }
    const target = String(headers['x-amz-target'] ?? '');
    const prefix = `${this.serviceTarget}.`;
    if (!target.startsWith(prefix)) {
      throw new AwsError('UnknownOperationException', 400, `Unknown X-Amz-Target ${target || '(none)'}`);
    }
    let input: unknown;
    try {
      input = body === '' ? {} : JSON.parse(body);
    } catch {
      throw new AwsError('SerializationException', 400, 'The request body is not JSON');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new AwsError('SerializationException', 400, 'The request body is not a JSON object');
    }
    const members = input as Record<string, unknown>;
    return { action: target.slice(prefix.length), input: members, params: members };
  }

  success(_action: string, payload: string, requestId: string): HttpReply {
    return {
      status: 200,
      headers: { 'content-type': JSON_1_0, 'x-amzn-RequestId': requestId },
      body: payload,
    };
  }

  failure(error: AwsError, requestId: string): HttpReply {
    return {
      status: error.status,
      headers: {
        'content-type': JSON_1_0,
        'x-amzn-RequestId': requestId,
        'x-amzn-query-error': `${error.code};${error.fault}`,
      },
      body: JSON.stringify({ __type: `${this.errorNamespace}#${error.code}`, message: error.message }),
    };
  }
}
