import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type MatrixClient, MatrixError } from 'matrix-js-sdk';
import type { Logger as SdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from 'pino';
import { readTextIfExists, writeFileAtomically } from '../../shared/files.ts';
import type { MatrixConfig } from './matrix-config.ts';
import { matrixFailure } from './matrix-errors.ts';

/** Who the pack is on the homeserver, and the device its sends are deduplicated per. */
export interface MatrixSession {
  userId: string;
  accessToken: string;
  deviceId: string | undefined;
}

interface SavedSession extends MatrixSession {
  homeserverUrl: string;
}

/**
 * Signs in as the config says and proves the token works (whoami). With a password, the session is kept
 * in `<stateDir>/session.json` (mode 0600) and reused, so the bot keeps one device; a saved token the
 * homeserver no longer knows is replaced by logging in again. A refused token or password stops the
 * pack with a message naming the variable.
 */
export async function openSession(
  config: MatrixConfig,
  logger: Logger,
  sdkLogger: SdkLogger,
): Promise<MatrixClient> {
  const { auth } = config;
  const clientFor = (session: MatrixSession) => createSdkClient(config, session, sdkLogger);
  if (auth.kind === 'token') {
    const client = clientFor({
      accessToken: auth.accessToken,
      userId: auth.userId ?? '',
      deviceId: undefined,
    });
    const session = await whoami(client, 'MATRIX_ACCESS_TOKEN');
    if (auth.userId && auth.userId !== session.userId) {
      throw new Error(`MATRIX_USER_ID: the token belongs to ${session.userId}, not ${auth.userId}`);
    }
    return clientFor(session);
  }
  const file = join(config.stateDir as string, 'session.json');
  const saved = await readSaved(file, logger);
  if (saved && saved.userId === auth.userId && saved.homeserverUrl === config.homeserverUrl) {
    try {
      const session = await whoami(clientFor(saved), 'MATRIX_PASSWORD');
      return clientFor({ ...session, accessToken: saved.accessToken });
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      logger.warn(
        { userId: saved.userId, deviceId: saved.deviceId },
        'the saved Matrix session was revoked; logging in again',
      );
    }
  }
  const session = await logIn(config, sdkLogger, auth.userId, auth.password, saved?.deviceId);
  await mkdir(config.stateDir as string, { recursive: true });
  await writeFileAtomically(
    file,
    `${JSON.stringify({ ...session, homeserverUrl: config.homeserverUrl }, null, 2)}\n`,
  );
  await chmod(file, 0o600);
  logger.info({ userId: session.userId, deviceId: session.deviceId }, 'logged in to Matrix; session saved');
  return clientFor(session);
}

class TokenRefused extends Error {}

function createSdkClient(config: MatrixConfig, session: MatrixSession, logger: SdkLogger): MatrixClient {
  return createClient({
    logger,
    baseUrl: config.homeserverUrl,
    accessToken: session.accessToken,
    userId: session.userId,
    ...(session.deviceId ? { deviceId: session.deviceId } : {}),
    useAuthorizationHeader: true,
  });
}

async function whoami(client: MatrixClient, variable: string): Promise<MatrixSession> {
  try {
    const answer = await client.whoami();
    return { userId: answer.user_id, accessToken: client.getAccessToken() ?? '', deviceId: answer.device_id };
  } catch (error) {
    if (
      error instanceof MatrixError &&
      (error.errcode === 'M_UNKNOWN_TOKEN' || error.errcode === 'M_MISSING_TOKEN')
    ) {
      throw new TokenRefused(
        `${variable}: the homeserver does not know this token (${error.errcode}); it was revoked or belongs to another server`,
      );
    }
    throw new Error(
      `MATRIX_HOMESERVER_URL: cannot check the session (${matrixFailure(error, 'whoami').message})`,
    );
  }
}

async function logIn(
  config: MatrixConfig,
  sdkLogger: SdkLogger,
  userId: string,
  password: string,
  deviceId: string | undefined,
): Promise<MatrixSession> {
  const client = createClient({ baseUrl: config.homeserverUrl, logger: sdkLogger });
  try {
    const answer = await client.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: userId },
      password,
      initial_device_display_name: 'Switchboard',
      ...(deviceId ? { device_id: deviceId } : {}),
    });
    return { userId: answer.user_id, accessToken: answer.access_token, deviceId: answer.device_id };
  } catch (error) {
    if (error instanceof MatrixError && error.errcode === 'M_FORBIDDEN') {
      throw new Error(`MATRIX_PASSWORD: the homeserver refused the login of ${userId} (M_FORBIDDEN)`);
    }
    throw new Error(`MATRIX_HOMESERVER_URL: cannot log in (${matrixFailure(error, 'login').message})`);
  }
}

async function readSaved(file: string, logger: Logger): Promise<SavedSession | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  try {
    const saved = JSON.parse(text) as SavedSession;
    if (typeof saved.accessToken === 'string' && typeof saved.userId === 'string') return saved;
  } catch {}
  logger.warn({ file }, 'the saved Matrix session is not readable; logging in again');
  return undefined;
}
