import { COMMANDS_EXCHANGE, packQueueName, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { type Refusal, sendJson } from '../http-guard.ts';
import type { AnnouncedCommand, PackAnnouncement, PackDirectory } from '../pack-directory.ts';
import type { ApiRequest, ConsoleFeature, ConsoleSources } from '../routes.ts';
import { CommandChecks } from './command-checks.ts';
import { waitForResult } from './result-waiter.ts';

/**
 * AMQP header on every command the console sends, so a consumer can tell it from the engine's and the
 * CLI's. Not a label: on a command, labels choose which instances may run it (docs/protocol.md).
 */
export const SENT_BY_HEADER = 'x-switchboard-sent-by';

/** The longest `?wait=` in seconds: a request held open longer would outlive most proxies' timeouts. */
export const MAX_WAIT_SECONDS = 60;

/**
 * The Send page's API: the commands each pack announced (GET /api/commands), and sending one
 * (POST /api/commands/<pack>/<Command>), checked against its announced schema and, with `?wait=<s>`,
 * answered with its result event.
 */
export function sendFeature({ bus, logger, packs, tap }: ConsoleSources): ConsoleFeature {
  const checks = new CommandChecks(logger);
  // Ends the waits still open when the console closes, instead of holding it up to a minute.
  const stopping = new AbortController();

  async function send({ params, url, response, json }: ApiRequest): Promise<void> {
    const { announcement, command } = findCommand(packs, params.pack ?? '', params.command ?? '');
    const waitMs = parseWait(url.searchParams.get('wait'));
    const payload = await json();
    const checked = checks.check(announcement, command, payload);
    if (!checked.ok) {
      throw refusal(422, 'invalid_input', `${announcement.pack}.${command.name}: ${checked.reason}`);
    }
    // On RabbitMQ a command no queue is bound for is dropped; the in-memory bus keeps it for the pack.
    if (!('waitingCommands' in bus) && !(await bus.inspectQueue(packQueueName(announcement.pack)))) {
      throw refusal(
        503,
        'pack_queue_missing',
        `the queue ${packQueueName(announcement.pack)} does not exist on the broker, so nothing would receive the command`,
      );
    }
    const envelope = createEnvelope({
      kind: 'command',
      pack: announcement.pack,
      name: command.name,
      payload,
    });
    // What the result will carry (docs/protocol.md: the command's id when it has no correlationId).
    const answer = { id: envelope.id, correlationId: envelope.id };
    const waiting =
      waitMs === undefined
        ? undefined
        : { ms: waitMs, ...waitForResult(tap, envelope.id, waitMs, stopping.signal) };
    try {
      await bus.publish(
        { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(envelope.pack, envelope.name) },
        envelope,
        { headers: { [SENT_BY_HEADER]: 'console' } },
      );
    } catch (error) {
      waiting?.cancel();
      throw refusal(503, 'publish_failed', `the bus did not take the command: ${(error as Error).message}`);
    }
    // The payload is not logged: it may carry anything the operator typed.
    logger.info(
      { pack: envelope.pack, command: envelope.name, commandId: envelope.id },
      'command sent from the console',
    );
    if (!waiting) {
      sendJson(response, 202, answer);
      return;
    }
    const result = await waiting.result;
    if (!result) {
      sendJson(response, 504, {
        error: {
          code: 'no_result',
          message: `no result for command ${envelope.id} within ${waiting.ms / 1000} s; it was published and may still run: is a "${envelope.pack}" pack running?`,
        },
        ...answer,
      });
      return;
    }
    if (isFailure(result, command)) {
      sendJson(response, 422, { ...failureOf(result), ...answer, result });
      return;
    }
    sendJson(response, 200, { ...answer, result });
  }

  return {
    routes: [
      {
        method: 'GET',
        path: '/api/commands',
        handle: ({ response }) => {
          const running = new Map<string, number>();
          for (const instance of packs.list()) {
            if (instance.state === 'running')
              running.set(instance.name, (running.get(instance.name) ?? 0) + 1);
          }
          sendJson(response, 200, {
            packs: packs.announcements().map((announcement) => ({
              ...announcement,
              runningInstances: running.get(announcement.pack) ?? 0,
            })),
          });
        },
      },
      { method: 'POST', path: '/api/commands/:pack/:command', handle: send },
    ],
    async stop() {
      stopping.abort();
    },
  };
}

function findCommand(
  packs: PackDirectory,
  pack: string,
  name: string,
): { announcement: PackAnnouncement; command: AnnouncedCommand } {
  const announcement = packs.announcement(pack);
  if (!announcement) {
    const known = packs.announcements().map((each) => each.pack);
    throw refusal(
      404,
      'unknown_pack',
      known.length === 0
        ? `no pack "${pack}": no pack has announced itself since the console started (packs announce their commands when they start)`
        : `no pack "${pack}" has announced itself; the packs known are ${known.join(', ')}`,
    );
  }
  const command = announcement.commands.find((each) => each.name === name);
  if (!command) {
    const names = announcement.commands.map((each) => each.name);
    throw refusal(
      404,
      'unknown_command',
      names.length === 0
        ? `the ${pack} pack announces no command`
        : `the ${pack} pack announces no command "${name}"; its commands are ${names.join(', ')}`,
    );
  }
  return { announcement, command };
}

/** `?wait=<seconds>` in milliseconds; undefined without it. */
function parseWait(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_WAIT_SECONDS) {
    throw refusal(
      400,
      'invalid_wait',
      `wait takes a number of seconds above 0 and at most ${MAX_WAIT_SECONDS}, got "${value}"`,
    );
  }
  return Math.round(seconds * 1000);
}

/** A failure carries errorCode (success events never do), or is the failure event the command announced. */
function isFailure(result: Envelope, command: AnnouncedCommand): boolean {
  return typeof payloadOf(result).errorCode === 'string' || result.name === command.events[1];
}

/** The 422 body of a failure event: its errorCode and reason (payload.error) in words, and on their own. */
function failureOf(result: Envelope) {
  const payload = payloadOf(result);
  const errorCode = typeof payload.errorCode === 'string' ? payload.errorCode : undefined;
  const reason = typeof payload.error === 'string' ? payload.error : undefined;
  return {
    error: {
      code: 'command_failed',
      message: `${result.pack}.${result.name}: ${errorCode ?? 'no error code'}: ${reason ?? 'no reason given'}`,
    },
    errorCode,
    reason,
  };
}

function payloadOf(result: Envelope): Record<string, unknown> {
  const payload = result.payload;
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)
    : {};
}

function refusal(status: number, code: string, message: string): Refusal {
  return { status, code, message };
}
