// Checks a request's AWS Signature Version 4 the way AWS does: the credential scope names the
// region and the service (the emulator routes by it), the access key must be one it knows, and the
// signature must match what that key's secret gives for this very request. So a test learns which
// credentials and region the SDK's standard configuration really used.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type RequestAuth =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | {
      ok: false;
      reason: 'missing' | 'unknown-key' | 'bad-signature';
      region: string | null;
      service: string | null;
    };

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/;

function parseAuthorization(header: string | undefined): ParsedAuthorization | null {
  const match = AUTHORIZATION.exec(header ?? '');
  if (match === null) return null;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  return {
    accessKeyId: accessKeyId!,
    date: date!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(';'),
    signature: signature!,
  };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

function expectedSignature(
  parsed: ParsedAuthorization,
  secretAccessKey: string,
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): string {
  const [pathname, query = ''] = path.split('?');
  const canonicalQuery = query
    .split('&')
    .filter((pair) => pair !== '')
    .sort()
    .join('&');
  const canonicalHeaders = parsed.signedHeaders
    .map((name) => `${name}:${headerValue(headers, name)}\n`)
    .join('');
  const payloadHash = headerValue(headers, 'x-amz-content-sha256') || sha256(body);
  const canonicalRequest = [
    method,
    pathname,
    canonicalQuery,
    canonicalHeaders,
    parsed.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    headerValue(headers, 'x-amz-date'),
    scope,
    sha256(canonicalRequest),
  ].join('\n');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${secretAccessKey}`, parsed.date), parsed.region), parsed.service),
    'aws4_request',
  );
  return createHmac('sha256', signingKey).update(stringToSign).digest('hex');
}

export function verifySignature(
  credentials: EmulatorCredentials,
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): RequestAuth {
  const parsed = parseAuthorization(headerValue(headers, 'authorization'));
  if (parsed === null) return { ok: false, reason: 'missing', region: null, service: null };
  const scope = { region: parsed.region, service: parsed.service };
  if (parsed.accessKeyId !== credentials.accessKeyId) return { ok: false, reason: 'unknown-key', ...scope };
  const expected = expectedSignature(parsed, credentials.secretAccessKey, method, path, headers, body);
  if (expected !== parsed.signature) return { ok: false, reason: 'bad-signature', ...scope };
  return { ok: true, accessKeyId: parsed.accessKeyId, ...scope };
}
