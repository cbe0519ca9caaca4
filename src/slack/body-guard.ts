// Bolt trusts the shape of a correctly signed body: a JSON `null` body crashes the process (it reads
// `body.ssl_check` in a promise nobody awaits), and a body it classifies by one key (`event`,
// `command`, `name`, `actions`) but cannot dispatch makes it throw (HTTP 500, which Slack retries).
// So a signed body is parsed here exactly as Bolt will parse it (its own parser, the same
// content-type rule) and let through only when it is one of the requests this app answers: the
// slash command, a block action, a modal submission, or Bolt's own url_verification / ssl_check.
// Anything else is answered 400 before Bolt sees it, and changes nothing.
import type { IncomingMessage } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, isValidSlackRequest, type BufferedIncomingMessage } from '@slack/bolt';

export type BodyVerdict = { ok: true } | { ok: false; status: 400 | 413; problem: string };

const FORM = 'application/x-www-form-urlencoded';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keys Bolt classifies a body by, in its order; one that comes before the body's own kind hijacks it. */
const CLASSIFYING_KEYS = ['event', 'command', 'name'] as const;

/** How Bolt read the body: a flat form, the JSON in a form's `payload` field, or a JSON body. */
export type BodyEncoding = 'form' | 'payload' | 'json';

/** The slash command: Slack sends it as a flat form whose every field is one string. */
function commandProblem(body: Record<string, unknown>, encoding: BodyEncoding): string | null {
  if (encoding !== 'form') return 'a slash command must be a flat form';
  if (Object.values(body).some((value) => typeof value !== 'string')) return 'a form field is repeated';
  return null;
}

/** A block action or modal submission: the keys Bolt and our listeners read, with their types. */
function interactionProblem(body: Record<string, unknown>): string | null {
  for (const key of CLASSIFYING_KEYS) if (key in body) return `an interaction must not carry ${key}`;
  if (!isObject(body['user'])) return 'payload.user is not an object';
  for (const key of ['channel', 'view', 'container', 'message']) {
    if (key in body && !isObject(body[key])) return `payload.${key} is not an object`;
  }
  // Slack sends `team: null` for some org-wide installs.
  if ('team' in body && body['team'] !== null && !isObject(body['team']))
    return 'payload.team is not an object';
  if (body['type'] === 'block_actions') {
    const actions = body['actions'];
    if (!Array.isArray(actions) || !actions.every(isObject))
      return 'payload.actions is not a list of objects';
  } else {
    if ('actions' in body) return 'a modal submission must not carry actions';
    if (!isObject(body['view'])) return 'payload.view is not an object';
  }
  return null;
}

/** What is wrong with a parsed body for this app, or null when Bolt may have it. */
export function boltBodyProblem(body: unknown, encoding: BodyEncoding): string | null {
  if (!isObject(body)) return 'the body is not an object';
  if (body['ssl_check'] === '1' || body['type'] === 'url_verification') return null; // Bolt answers these itself
  if ('event' in body) return 'this app subscribes to no events';
  if ('command' in body) return commandProblem(body, encoding);
  if (body['type'] === 'block_actions' || body['type'] === 'view_submission') return interactionProblem(body);
  return 'not a slash command, block action or modal submission';
}

/** Parses a body with Bolt's own parser (a form only for exactly its content type, else JSON). */
export function parseAsBolt(
  rawBody: Buffer,
  contentType: string | undefined,
): { body: unknown; encoding: BodyEncoding } | null {
  const request = { rawBody, headers: { 'content-type': contentType } } as unknown as BufferedIncomingMessage;
  let body: unknown;
  try {
    body = HTTPModuleFunctions.parseHTTPRequestBody(request) as unknown;
  } catch {
    return null;
  }
  if (contentType !== FORM) return { body, encoding: 'json' };
  // Bolt takes a form's `payload` field as the body when it is one string.
  return {
    body,
    encoding: typeof parseQuery(rawBody.toString())['payload'] === 'string' ? 'payload' : 'form',
  };
}

/**
 * Reads the body (Bolt then uses the buffered copy) and judges it. Requests whose signature does
 * not verify are left to Bolt, which answers 401 as before.
 */
export async function judgeSlackBody(
  req: IncomingMessage,
  signingSecret: string,
  nowMs: number,
): Promise<BodyVerdict> {
  let rawBody: Buffer;
  try {
    rawBody = (await HTTPModuleFunctions.bufferIncomingMessage(req, HTTPModuleFunctions.defaultBodyLimit))
      .rawBody;
  } catch {
    return { ok: false, status: 413, problem: 'the body is too large or could not be read' };
  }
  const signature = req.headers['x-slack-signature'];
  const timestamp = Number(req.headers['x-slack-request-timestamp']);
  if (typeof signature !== 'string' || !Number.isFinite(timestamp)) return { ok: true };
  const signed = isValidSlackRequest({
    signingSecret,
    body: rawBody.toString(),
    headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
    nowMilliseconds: nowMs,
  });
  if (!signed) return { ok: true };
  const contentType = req.headers['content-type'];
  const parsed = parseAsBolt(rawBody, contentType);
  if (!parsed) return { ok: false, status: 400, problem: 'the body does not parse' };
  const problem = boltBodyProblem(parsed.body, parsed.encoding);
  return problem === null ? { ok: true } : { ok: false, status: 400, problem };
}
