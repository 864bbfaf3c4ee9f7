import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy in front of the broker that a test can stall and cut: the way to lose a connection with
 * messages in flight without restarting the broker, which other tests share.
 */
export interface TcpProxy {
  /** The broker's AMQP URL, through the proxy. */
  readonly url: string;
  /** Bytes clients sent while stalled, which never reached the broker. */
  readonly droppedBytes: number;
  /**
   * From now on, drops what goes through, as a dead network path does: publishes stay unconfirmed. The
   * broker still gets the first `passToBroker` bytes clients send, so it has some of the messages whose
   * confirms are lost.
   */
  stall(options?: { passToBroker?: number }): void;
  /** Resets every connection through the proxy and forwards again, so clients reconnect through it. */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(brokerUrl: string): Promise<TcpProxy> {
  const target = new URL(brokerUrl);
  const targetPort = Number(target.port || 5672);
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  let passToBroker = 0;
  let dropped = 0;

  const server = createServer((client) => {
    const broker = tcpConnect({ host: target.hostname, port: targetPort });
    const pair: [Socket, Socket] = [client, broker];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      broker.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (!stalled) broker.write(chunk);
      else {
        const passed = chunk.subarray(0, passToBroker);
        if (passed.length > 0) broker.write(passed);
        passToBroker -= passed.length;
        dropped += chunk.length - passed.length;
      }
    });
    broker.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    for (const socket of pair) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = new URL(brokerUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);

  const cut = (): void => {
    stalled = false;
    for (const [client, broker] of pairs) {
      client.resetAndDestroy();
      broker.destroy();
    }
    pairs.clear();
  };

  return {
    url: url.toString(),
    get droppedBytes() {
      return dropped;
    },
    stall(options = {}) {
      stalled = true;
      passToBroker = options.passToBroker ?? 0;
    },
    cut,
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
