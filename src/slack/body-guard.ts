// Bolt trusts the shape of a correctly signed body: a JSON `null` body crashes the process (it reads
// `body.ssl_check` in a promise nobody awaits) and a payload with a wrong-typed `user`, `channel`,
// `actions` or `view` makes its dispatch throw (HTTP 500, which Slack retries). Signed or not, such
// a body is answered 400 here, before Bolt, and changes nothing.
import type { IncomingMessage } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HTTPModuleFunctions, isValidSlackRequest } from '@slack/bolt';

export type BodyVerdict = { ok: true } | { ok: false; status: 400 | 413; problem: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The keys Bolt dispatches on, with the type each must have when present. */
function payloadProblem(payload: unknown): string | null {
  if (!isObject(payload)) return 'the payload is not a JSON object';
  if (typeof payload['type'] !== 'string') return 'the payload has no type';
  for (const key of ['user', 'channel', 'view', 'event', 'container', 'message']) {
    if (key in payload && !isObject(payload[key])) return `payload.${key} is not an object`;
  }
  // Slack sends `team: null` for some org-wide installs.
  if ('team' in payload && payload['team'] !== null && !isObject(payload['team']))
    return 'payload.team is not an object';
  if ('actions' in payload) {
    const actions = payload['actions'];
    if (!Array.isArray(actions) || !actions.every(isObject))
      return 'payload.actions is not a list of objects';
  }
  return null;
}

function formProblem(text: string): string | null {
  const form = parseQuery(text);
  if (!('payload' in form)) {
    // A slash command (or ssl_check): flat string fields, which Bolt handles itself.
    return Object.values(form).some(Array.isArray) ? 'a form field is repeated' : null;
  }
  const raw = form['payload'];
  if (typeof raw !== 'string') return 'the payload field is repeated';
  try {
    return payloadProblem(JSON.parse(raw));
  } catch {
    return 'the payload is not JSON';
  }
}

/**
 * Reads the body (Bolt then uses the buffered copy) and judges its shape. Requests whose signature
 * does not verify are left to Bolt, which answers 401 as before.
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
  const body = rawBody.toString();
  const signature = req.headers['x-slack-signature'];
  const timestamp = Number(req.headers['x-slack-request-timestamp']);
  if (typeof signature !== 'string' || !Number.isFinite(timestamp)) return { ok: true };
  const signed = isValidSlackRequest({
    signingSecret,
    body,
    headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
    nowMilliseconds: nowMs,
  });
  if (!signed) return { ok: true };
  const contentType = String(req.headers['content-type'] ?? '');
  let problem: string | null;
  if (contentType.includes('application/json')) {
    try {
      problem = payloadProblem(JSON.parse(body));
    } catch {
      problem = null; // Bolt answers unparsable JSON with 400 itself
    }
  } else {
    problem = formProblem(body);
  }
  return problem === null ? { ok: true } : { ok: false, status: 400, problem };
}
