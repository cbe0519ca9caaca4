// Builds and sends the signed requests Slack itself sends to POST /slack/events: slash commands,
// button clicks and modal submissions. The local console and the tests drive the bot through the
// same code path as production, so they need Slack's exact encodings and signature.
import { createHmac, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../ports/clock';

export function slackSignature(signingSecret: string, timestampSec: number, rawBody: string): string {
  const digest = createHmac('sha256', signingSecret).update(`v0:${timestampSec}:${rawBody}`).digest('hex');
  return `v0=${digest}`;
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

export function signRequest(
  signingSecret: string,
  body: string,
  contentType = 'application/x-www-form-urlencoded',
  timestampSec = Math.floor(systemClock.now().getTime() / 1000),
): SignedRequest {
  return {
    body,
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestampSec),
      'x-slack-signature': slackSignature(signingSecret, timestampSec, body),
    },
  };
}

export interface Actor {
  userId: string;
  /** The person's own team (an E… organization id for Enterprise Grid users, as Slack sends it). */
  teamId: string;
  userName?: string;
  /** A slash command's `enterprise_id`. */
  enterpriseId?: string;
  /**
   * Where the request came from when that is not the person's own team: in a Slack Connect channel
   * a click's `team` is the workspace hosting the channel.
   */
  hostTeamId?: string;
}

export interface SendOptions {
  /** Override the signing time (stale or future requests in tests). */
  timestampSec?: number;
  /** Extra headers, e.g. X-Slack-Retry-Num for a redelivery. */
  headers?: Record<string, string>;
}

export interface SlackResponse {
  status: number;
  body: string;
}

function id(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** A stand-in for Slack's delivery side: signs and posts payloads to the bot. */
export class SlackRequestSender {
  constructor(
    private readonly eventsUrl: string,
    private readonly signingSecret: string,
    private readonly appId = 'A0CUTOVER',
    /** Slack's time: the request timestamp it signs and the clicks' action_ts. */
    private readonly clock: Clock = systemClock,
  ) {}

  private nowSec(): number {
    return this.clock.now().getTime() / 1000;
  }

  slashCommandBody(actor: Actor, channelId: string, text: string, triggerId = id('T.')): string {
    return form({
      token: 'deprecated-verification-token',
      team_id: actor.teamId,
      ...(actor.enterpriseId !== undefined ? { enterprise_id: actor.enterpriseId } : {}),
      team_domain: 'local',
      channel_id: channelId,
      channel_name: 'cutovers',
      user_id: actor.userId,
      user_name: actor.userName ?? actor.userId.toLowerCase(),
      command: '/cutover',
      text,
      api_app_id: this.appId,
      is_enterprise_install: 'false',
      response_url: 'http://127.0.0.1/response-url-unused',
      trigger_id: triggerId,
    });
  }

  buttonClickBody(
    actor: Actor,
    channelId: string,
    click: {
      actionId: string;
      value: string;
      messageTs: string;
      blockId?: string;
      actionTs?: string;
      triggerId?: string;
    },
  ): string {
    const payload = {
      type: 'block_actions',
      user: {
        id: actor.userId,
        username: actor.userName ?? actor.userId.toLowerCase(),
        team_id: actor.teamId,
      },
      api_app_id: this.appId,
      token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: click.messageTs, channel_id: channelId, is_ephemeral: false },
      trigger_id: click.triggerId ?? id('T.'),
      team: { id: actor.hostTeamId ?? actor.teamId, domain: 'local' },
      channel: { id: channelId, name: 'cutovers' },
      message: { type: 'message', ts: click.messageTs },
      actions: [
        {
          type: 'button',
          action_id: click.actionId,
          block_id: click.blockId ?? 'actions',
          value: click.value,
          text: { type: 'plain_text', text: click.actionId },
          action_ts: click.actionTs ?? this.nowSec().toFixed(6),
        },
      ],
    };
    return form({ payload: JSON.stringify(payload) });
  }

  viewSubmissionBody(
    actor: Actor,
    view: {
      id: string;
      callbackId: string;
      privateMetadata: string;
      values: Record<string, Record<string, string>>;
      hash?: string;
    },
  ): string {
    const values = Object.fromEntries(
      Object.entries(view.values).map(([blockId, actions]) => [
        blockId,
        Object.fromEntries(
          Object.entries(actions).map(([actionId, value]) => [actionId, { type: 'plain_text_input', value }]),
        ),
      ]),
    );
    const payload = {
      type: 'view_submission',
      team: { id: actor.hostTeamId ?? actor.teamId, domain: 'local' },
      user: {
        id: actor.userId,
        username: actor.userName ?? actor.userId.toLowerCase(),
        team_id: actor.teamId,
      },
      api_app_id: this.appId,
      token: 'deprecated-verification-token',
      trigger_id: id('T.'),
      view: {
        id: view.id,
        type: 'modal',
        callback_id: view.callbackId,
        private_metadata: view.privateMetadata,
        state: { values },
        hash: view.hash ?? id('h'),
        team_id: actor.teamId,
        app_id: this.appId,
      },
    };
    return form({ payload: JSON.stringify(payload) });
  }

  /** Signs and posts a body; returns what the bot answered. */
  async send(body: string, options: SendOptions = {}): Promise<SlackResponse> {
    const signed = signRequest(
      this.signingSecret,
      body,
      undefined,
      options.timestampSec ?? Math.floor(this.nowSec()),
    );
    const response = await fetch(this.eventsUrl, {
      method: 'POST',
      headers: { ...signed.headers, ...options.headers },
      body: signed.body,
    });
    return { status: response.status, body: await response.text() };
  }

  command(actor: Actor, channelId: string, text: string, options?: SendOptions): Promise<SlackResponse> {
    return this.send(this.slashCommandBody(actor, channelId, text), options);
  }
}
