// The event_callback wrapper Slack puts around every Events API event, the same over Socket Mode (as an
// envelope's payload) and over HTTP (as the request body):
// https://docs.slack.dev/apis/events-api/ (the "callback" wrapper)

import { randomBytes } from 'node:crypto';
import type { BotIdentity } from './state.ts';

/** The deprecated verification token Slack still sends in `token`; the fake's is fixed. */
export const VERIFICATION_TOKEN = 'fake-verification-token';

/** Builds event_callback payloads for `bot`, their event_time from `clock` (milliseconds). */
export function eventCallbacks(
  bot: BotIdentity,
  clock: () => number,
): (event: Record<string, unknown>) => Record<string, unknown> {
  return (event) => ({
    token: VERIFICATION_TOKEN,
    team_id: bot.teamId,
    api_app_id: bot.appId,
    event,
    type: 'event_callback',
    event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(clock() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: bot.teamId,
        user_id: bot.userId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  });
}
