// The AWS Query protocols on the wire: a form-encoded POST `Action=...&Version=...` answered with XML.
// Two dialects: EC2's (the answer's members right under `<ActionResponse>`, errors in
// `<Response><Errors><Error>`) and the one RDS shares with the older Query services (members under
// `<ActionResult>`, errors in `<ErrorResponse><Error>` with a Type).
import { AwsError, missingParameter } from './aws-error';
import type { HttpReply } from './http-server';
import type { DecodedRequest, WireProtocol } from './protocol';
import { QueryParams } from './query-params';
import { element, leaf } from './xml';

export interface QueryDialect {
  kind: 'ec2' | 'query';
  /** The API version the service speaks (requests naming another are refused). */
  version: string;
  xmlns: string;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

function xmlReply(status: number, body: string, requestId: string): HttpReply {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-RequestId': requestId },
    body: XML_DECLARATION + body,
  };
}

export class QueryProtocol implements WireProtocol<QueryParams> {
  constructor(private readonly dialect: QueryDialect) {}

  decode(body: string): DecodedRequest<QueryParams> {
    const params = QueryParams.parse(body);
    const action = params.string('Action');
    if (action === undefined || action === '') throw missingParameter('Action');
    const version = params.string('Version');
    if (version !== this.dialect.version) {
      throw new AwsError(
        'NoSuchVersion',
        400,
        `The requested version (${version ?? 'none'}) of service is not supported; this one speaks ${this.dialect.version}.`,
      );
    }
    return { action, input: params, params: params.record() };
  }

  success(action: string, payload: string, requestId: string): HttpReply {
    const open = `${action}Response xmlns="${this.dialect.xmlns}"`;
    if (this.dialect.kind === 'ec2') {
      return xmlReply(
        200,
        `<${open}>${leaf('requestId', requestId)}${payload}</${action}Response>`,
        requestId,
      );
    }
    const result = element(`${action}Result`, payload);
    const metadata = element('ResponseMetadata', leaf('RequestId', requestId));
    return xmlReply(200, `<${open}>${result}${metadata}</${action}Response>`, requestId);
  }

  failure(error: AwsError, requestId: string): HttpReply {
    if (this.dialect.kind === 'ec2') {
      const detail = element('Error', leaf('Code', error.code), leaf('Message', error.message));
      return xmlReply(
        error.status,
        element('Response', element('Errors', detail), leaf('RequestID', requestId)),
        requestId,
      );
    }
    const detail = element(
      'Error',
      leaf('Type', error.fault),
      leaf('Code', error.code),
      leaf('Message', error.message),
    );
    return xmlReply(
      error.status,
      `<ErrorResponse xmlns="${this.dialect.xmlns}">${detail}${leaf('RequestId', requestId)}</ErrorResponse>`,
      requestId,
    );
  }
}
