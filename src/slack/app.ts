// The Bolt app: HTTP receiver (POST /slack/events, signature-checked) or Socket Mode, wired to
// the command and action handlers. Bolt gets the bot's ids up front (one auth.test at start-up)
// so it never calls auth.test per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { registerActions } from '../../commands/actions';
import { registerDeliveryDedupe } from '../../commands/deliveries';
import type { SlackHandlerDeps } from '../../commands/deps';
import { registerSlashCommand } from '../../commands/slash-command';
import type { SlackSettings } from '../config/types';
import { systemClock, type Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import { boltLogger } from './bolt-logger';
import { judgeSlackBody } from './body-guard';
import { futureTimestampProblem } from './request-guard';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface BotIdentity {
  teamId: string;
  /** Enterprise Grid: the organization the workspace belongs to. */
  enterpriseId?: string;
  botId: string;
  botUserId: string;
}

export interface SlackApp {
  app: App;
  /** The Web API client for outbound calls (notifier, approver lookups). */
  client: WebClient;
  identity: BotIdentity;
  /** HTTP mode: handles POST /slack/events. Null in Socket Mode. */
  handleEvents: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Who the bot is: asked once at start-up; a wrong token fails here, loudly, not on first use. */
export async function identify(client: WebClient): Promise<BotIdentity> {
  const reply = await client.auth.test();
  if (!reply.team_id || !reply.user_id || !reply.bot_id) {
    throw new Error('auth.test did not return team_id, user_id and bot_id; is SLACK_BOT_TOKEN a bot token?');
  }
  return {
    teamId: reply.team_id,
    ...(reply.enterprise_id ? { enterpriseId: reply.enterprise_id } : {}),
    botId: reply.bot_id,
    botUserId: reply.user_id,
  };
}

export function createSlackApp(
  settings: SlackSettings,
  client: WebClient,
  identity: BotIdentity,
  deps: SlackHandlerDeps,
  log: Logger,
  /** Judges request timestamps: the wall clock Slack signs with and Bolt checks, not deps.clock. */
  requestClock: Clock = systemClock,
): SlackApp {
  const logger = boltLogger(log);
  const clientOptions = settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {};
  const authorize = () =>
    Promise.resolve({
      botToken: settings.botToken,
      botId: identity.botId,
      botUserId: identity.botUserId,
      teamId: identity.teamId,
    });

  let receiver: HTTPReceiver | null = null;
  let app: App;
  if (settings.appToken) {
    app = new App({
      socketMode: true,
      appToken: settings.appToken,
      authorize,
      clientOptions,
      logger,
      logLevel: LogLevel.WARN,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: settings.signingSecret,
      endpoints: SLACK_EVENTS_PATH,
      logger,
      logLevel: LogLevel.WARN,
      // Ack as soon as the listener calls ack(); work after it never delays Slack's 3-second limit.
      processBeforeResponse: false,
    });
    app = new App({ receiver, authorize, clientOptions, logger, logLevel: LogLevel.WARN });
  }

  registerDeliveryDedupe(app, deps.store, () => deps.runs.refused('duplicate_delivery'));
  registerSlashCommand(app, deps);
  registerActions(app, deps);
  app.error((error) => {
    log.error({ err: error }, 'slack listener failed');
    return Promise.resolve();
  });

  const httpReceiver = receiver;
  return {
    app,
    client,
    identity,
    handleEvents: httpReceiver
      ? (req, res) => {
          const problem = futureTimestampProblem(req, requestClock.now().getTime());
          if (problem) {
            log.warn({ problem }, 'refused Slack request');
            res.writeHead(401, { 'content-type': 'text/plain' });
            res.end();
            return;
          }
          judgeSlackBody(req, settings.signingSecret, requestClock.now().getTime())
            .then((verdict) => {
              if (!verdict.ok) {
                log.warn({ problem: verdict.problem }, 'refused malformed Slack request');
                res.writeHead(verdict.status, { 'content-type': 'text/plain' });
                res.end(verdict.problem);
                return;
              }
              httpReceiver.requestListener(req, res);
            })
            .catch((error: unknown) => {
              log.error({ err: error }, 'reading a Slack request failed');
              if (!res.headersSent) res.writeHead(400);
              res.end();
            });
        }
      : null,
    // In HTTP mode our own server routes requests to the receiver; only Socket Mode connects out.
    start: async () => {
      if (settings.appToken) await app.start();
    },
    stop: async () => {
      if (settings.appToken) await app.stop();
    },
  };
}
