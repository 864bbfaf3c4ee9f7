// Runs the fake Slack by hand, to try the Slack pack without a workspace. `--help` says how. Nothing starts
// when this module is imported: only when it is run.

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type FakeSlack, type HttpDelivery, startFakeSlack } from './index.ts';

const HUMAN = { id: 'U0HUMAN', name: 'ada', realName: 'Ada Lovelace' };
const CHANNELS = [
  { id: 'C0GENERAL', name: 'general', isMember: true, members: [HUMAN.id] },
  { id: 'C0DEPLOYS', name: 'deploys', isMember: true, members: [HUMAN.id] },
  { id: 'C0RANDOM', name: 'random', isMember: false, members: [HUMAN.id] },
];

const HELP = `Usage: node test/fakes/slack/main.ts [--port N] [--events-url URL]

Starts a fake Slack workspace on 127.0.0.1 and prints the settings that point the Slack pack at it.

  --port N            Port to listen on. Default 0: any free port.
  --events-url URL    Deliver events over HTTP to this Request URL, signed with SLACK_SIGNING_SECRET and
                      retried as Slack does (at once, after 1 minute, after 5 minutes). Default: over
                      Socket Mode, to whichever client connected with SLACK_APP_TOKEN.
  -h, --help          Shows this.

The workspace: #general and #deploys (the bot is a member), #random (it is not), and a person,
ada (U0HUMAN). Every message the bot posts is printed as "#general <- text".

Type lines on stdin:
  #general hello              ada posts "hello" in #general: it goes into the channel's history and, when
                              the bot is in the channel, a message event goes to the pack.
  #general/1700000000.000100 hi   ada replies in the thread of that message.
  /verify                     sends a url_verification request to --events-url.

Ctrl-C (or SIGTERM) stops it.`;

interface Cli {
  readonly port: number;
  readonly eventsUrl: string | undefined;
  readonly help: boolean;
}

function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'events-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port: "${values.port}" is not a port number (0-65535)`);
  const eventsUrl = values['events-url'];
  if (eventsUrl !== undefined && !/^https?:\/\/[^/]/.test(eventsUrl))
    throw new Error(`--events-url: "${eventsUrl}" is not an http(s) URL`);
  return { port, eventsUrl, help: values.help ?? false };
}

const channelLabel = (id: string): string => `#${CHANNELS.find((c) => c.id === id)?.name ?? id}`;

function printSettings(fake: FakeSlack, eventsUrl: string | undefined): void {
  console.log('# Fake Slack is running. Settings for the Slack pack:');
  console.log(`SLACK_API_URL=${fake.apiUrl}`);
  console.log(`SLACK_BOT_TOKEN=${fake.tokens.bot}`);
  if (eventsUrl) console.log(`SLACK_SIGNING_SECRET=${fake.signingSecret}`);
  else console.log(`SLACK_APP_TOKEN=${fake.tokens.app}`);
  const where = eventsUrl ? `over HTTP to ${eventsUrl}` : 'over Socket Mode';
  console.log(`# Events go ${where}. Type "#general hello" to post as ${HUMAN.name}; --help for more.`);
}

function describeAttempt(delivery: HttpDelivery): string {
  const retry = delivery.retryNum > 0 ? ` (retry ${delivery.retryNum})` : '';
  if (delivery.failure === 'http_timeout') return `  POST${retry}: no answer in time (http_timeout)`;
  if (delivery.failure === 'connection_failed')
    return `  POST${retry}: connection failed (${delivery.error})`;
  return `  POST${retry}: HTTP ${delivery.status}`;
}

/** Handles one stdin line; failures are printed, never thrown, so one bad line does not end the session. */
async function handleLine(fake: FakeSlack, eventsUrl: string | undefined, line: string): Promise<void> {
  const input = line.trim();
  if (!input) return;
  if (input === '/verify') {
    if (!eventsUrl) return console.log('  /verify needs --events-url');
    const result = await fake.verifyUrl(eventsUrl);
    const echoed = JSON.stringify(result.body).includes(result.challenge);
    return console.log(
      `  url_verification: HTTP ${result.status}, challenge ${echoed ? 'echoed' : 'NOT echoed'}`,
    );
  }
  const match = /^#([\w-]+)(?:\/(\d+\.\d+))?\s+(.+)$/.exec(input);
  const channel = match && CHANNELS.find((c) => c.name === match[1]);
  if (!match?.[3] || !channel) {
    return console.log(`  type "#channel text" (channels: ${CHANNELS.map((c) => `#${c.name}`).join(' ')})`);
  }
  const ts = fake.postAsUser({
    channel: channel.id,
    user: HUMAN.id,
    text: match[3],
    ...(match[2] ? { thread_ts: match[2] } : {}),
  });
  console.log(`#${channel.name} ${HUMAN.name}: ${match[3]}   (ts ${ts})`);
  // Slack sends message events only for channels the app is in.
  if (!fake.members(channel.id).includes(fake.bot.userId))
    return console.log(`  the bot is not in #${channel.name}: no event sent`);
  const event = fake.messageEvent(channel.id, ts);
  if (eventsUrl) {
    const result = await fake.deliverEvent(eventsUrl, event, {
      onAttempt: (delivery) => console.log(describeAttempt(delivery)),
    });
    const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
    return console.log(`  event ${ok ? 'delivered' : 'not delivered'} after ${result.attempts} attempt(s)`);
  }
  await fake.sendEvent(event);
  console.log('  event sent over Socket Mode and acked');
}

async function main(argv: string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (cli.help) {
    console.log(HELP);
    return 0;
  }
  const fake = await startFakeSlack({ port: cli.port });
  fake.addUser(HUMAN);
  for (const channel of CHANNELS) fake.addChannel(channel);
  fake.onPost((message) =>
    console.log(`${channelLabel(message.channel)} <- ${message.text || '(blocks or attachments only)'}`),
  );
  printSettings(fake, cli.eventsUrl);

  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on('line', (line) => {
    handleLine(fake, cli.eventsUrl, line).catch((error: unknown) =>
      console.log(`  failed: ${(error as Error).message}`),
    );
  });
  // The end of stdin does not stop the fake: it may run with no terminal at all.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(`# ${signal}: closing`);
  lines.close();
  await fake.close();
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(`fake Slack failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
  // stdin would keep the process alive after a signal.
  process.stdin.destroy();
}
