import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasToken, readBody, sendError } from './http-guard.ts';
import { clearedSessionCookie, type Sessions, sessionCookie, sessionIdOf } from './sessions.ts';

/** Wrong tokens accepted per minute before the form answers 429: guessing stays slow. */
export const MAX_FAILED_LOGINS_PER_MINUTE = 10;

/** What can be fetched before signing in: the form and what it needs to look right. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/login', '/console.css', '/favicon.svg']);

/** The login form and its POST, and signing out: for browsers, where setting a Bearer header is not an option. */
export class Login {
  readonly #token: string;
  readonly #sessions: Sessions;
  #failures: number[] = [];

  constructor(token: string, sessions: Sessions) {
    this.#token = token;
    this.#sessions = sessions;
  }

  /** Answers /login and /logout; false for any other path. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname === '/login' && (request.method === 'GET' || request.method === 'HEAD')) {
      sendPage(response, 200, loginPage(safeNext(url.searchParams.get('next'))));
      return true;
    }
    if (url.pathname === '/login' && request.method === 'POST') {
      await this.#signIn(request, response);
      return true;
    }
    if (url.pathname === '/logout' && request.method === 'POST') {
      this.#sessions.end(sessionIdOf(request.headers.cookie));
      response.writeHead(303, { Location: '/login', 'Set-Cookie': clearedSessionCookie() });
      response.end();
      return true;
    }
    if (url.pathname === '/login' || url.pathname === '/logout') {
      response.setHeader('Allow', url.pathname === '/login' ? 'GET, POST' : 'POST');
      sendError(response, { status: 405, code: 'method_not_allowed', message: 'see docs/console.md' });
      return true;
    }
    return false;
  }

  async #signIn(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const now = Date.now();
    this.#failures = this.#failures.filter((at) => now - at < 60_000);
    if (this.#failures.length >= MAX_FAILED_LOGINS_PER_MINUTE) {
      response.setHeader('Retry-After', '60');
      sendPage(response, 429, loginPage('/', 'Too many wrong tokens in the last minute. Wait a minute.'));
      return;
    }
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    const next = safeNext(form.get('next'));
    if (!hasToken(form.get('token') ?? '', this.#token)) {
      this.#failures.push(now);
      sendPage(response, 401, loginPage(next, 'That is not the console token. Try again.'));
      return;
    }
    const session = this.#sessions.create();
    response.writeHead(303, {
      Location: next,
      'Set-Cookie': sessionCookie(session.id, session.maxAgeSeconds),
    });
    response.end();
  }
}

/** Where to go after signing in: a path on this console only, never another site (`//evil.example`). */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

function sendPage(response: ServerResponse, status: number, html: string): void {
  response.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : html);
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] as string,
  );
}

function loginPage(next: string, problem?: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Sign in · Switchboard console</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml">
    <link rel="stylesheet" href="/console.css">
  </head>
  <body>
    <header>
      <p class="brand">Switchboard</p>
    </header>
    <main id="main">
      <h1>Sign in</h1>
      <p>This console asks for its token: the value of <code>SWITCHBOARD_CONSOLE_TOKEN</code> on the machine that runs Switchboard. Signing in keeps you in for 12 hours in this browser, or until Switchboard restarts.</p>
      ${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
      <form method="post" action="/login" class="login">
        <input type="hidden" name="next" value="${escapeHtml(next)}">
        <label for="token">Console token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
        <button type="submit">Sign in</button>
      </form>
    </main>
  </body>
</html>
`;
}
