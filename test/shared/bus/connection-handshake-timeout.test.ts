import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { openRecoveringConnection } from '../../../shared/bus/amqp/connection.ts';

// A half-open endpoint: it accepts TCP connections and never says a word (a hung broker, a firewall
// that swallows packets after the handshake, the wrong port of a busy proxy).
const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
let url: string;
before(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  url = `amqp://guest:guest@127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** Rejects when `promise` has not settled within `ms`: the point of the test is that it settles. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

test('a connection to an endpoint that never answers the AMQP handshake fails with a clear error', async () => {
  const { logger, lines } = capturingLogger();
  const connecting = openRecoveringConnection({
    url,
    name: 'test silent',
    logger,
    initialRetries: 1,
    handshakeTimeoutMs: 500,
  });
  await assert.rejects(
    within(connecting, 10_000, 'the connection'),
    /no answer to the connection and AMQP handshake within 500 ms/,
  );
  const retry = lines.find((line) => line.msg === 'cannot reach RabbitMQ, retrying');
  assert.ok(retry, 'the retry was logged');
  assert.match(String(retry.broker), /^amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+/);
  assert.match(String(retry.reason), /no answer to the connection and AMQP handshake within 500 ms/);
});

test('a silent endpoint is retried on a schedule, each try logged, not waited on forever', async () => {
  const { logger, lines } = capturingLogger();
  const connecting = openRecoveringConnection({
    url,
    name: 'test silent',
    logger,
    initialRetries: 3,
    handshakeTimeoutMs: 300,
  });
  await assert.rejects(within(connecting, 15_000, 'the connection'), /within 300 ms/);
  const retries = lines.filter((line) => line.msg === 'cannot reach RabbitMQ, retrying');
  assert.deepEqual(
    retries.map((line) => line.attempt),
    [1, 2, 3],
  );
});
