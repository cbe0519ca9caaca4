// An AWS service error as it goes on the wire: the code AWS sends (not the SDK's class name), the
// HTTP status AWS answers it with, and whether AWS blames the caller (Sender) or itself (Receiver).

export type ErrorFault = 'Sender' | 'Receiver';

export class AwsError extends Error {
  override readonly name = 'AwsError';
  readonly fault: ErrorFault;

  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    fault?: ErrorFault,
  ) {
    super(message);
    this.fault = fault ?? (status >= 500 ? 'Receiver' : 'Sender');
  }
}

/** A required parameter is missing (every Query service answers this the same way). */
export function missingParameter(name: string): AwsError {
  return new AwsError('MissingParameter', 400, `The request must contain the parameter ${name}`);
}

export function invalidParameterValue(message: string): AwsError {
  return new AwsError('InvalidParameterValue', 400, message);
}
