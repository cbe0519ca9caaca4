// How a service reads requests and writes answers on the wire, apart from what it does with them.
import type { IncomingHttpHeaders } from 'node:http';

import type { AwsError } from './aws-error';
import type { HttpReply } from './http-server';

export interface DecodedRequest<Input> {
  action: string;
  input: Input;
  /** The parameters as sent, for the call log. */
  params: Readonly<Record<string, unknown>>;
}

export interface WireProtocol<Input> {
  /** Reads the action and its input; throws AwsError for a request the service would reject. */
  decode(body: string, headers: IncomingHttpHeaders): DecodedRequest<Input>;
  /** The success answer around a payload the action wrote in this protocol's format. */
  success(action: string, payload: string, requestId: string): HttpReply;
  failure(error: AwsError, requestId: string): HttpReply;
}
