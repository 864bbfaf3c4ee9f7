import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../../shared/config.ts';
import { type AllowPattern, parseAllowPattern } from './allow-list.ts';

/** One configured token: who it stands for, and what it may send. The token itself is kept only hashed. */
export interface ApiToken {
  /** Travels with every command it sends (AMQP header x-switchboard-sent-by); names it in logs. */
  readonly name: string;
  readonly allow: readonly AllowPattern[];
  /** The patterns as configured, for messages. */
  readonly allowText: readonly string[];
}

/** Shorter tokens could be guessed: a 401 is not rate limited (no token, no bucket). */
export const MIN_TOKEN_LENGTH = 16;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Visible ASCII: what fits in an Authorization header as it is. */
const TOKEN = /^[\x21-\x7e]+$/;

/**
 * The tokens of SWITCHBOARD_API_TOKENS, compared in constant time. Errors name the variable and the
 * token's name or position, never the token.
 */
export class ApiTokens {
  readonly #entries: ReadonlyArray<{ digest: Buffer; token: ApiToken }>;

  private constructor(entries: ReadonlyArray<{ digest: Buffer; token: ApiToken }>) {
    this.#entries = entries;
  }

  static none(): ApiTokens {
    return new ApiTokens([]);
  }

  /** `value` is the JSON itself when it starts with `{` (or `[`), otherwise the path of a file holding it. */
  static parse(variable: string, value: string | undefined): ApiTokens {
    const text = value?.trim() ?? '';
    if (text === '') return ApiTokens.none();
    // A path never starts with { or [: what does is JSON written inline.
    const inline = text.startsWith('{') || text.startsWith('[');
    const where = inline ? 'the value' : text;
    const json = inline ? text : readTokensFile(variable, text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      // JSON.parse quotes the text around the error, which may be a token: only its position is told.
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      throw new ConfigError(
        variable,
        `${where} is not JSON${position ? ` (at character ${position})` : ''}; write {"<token>": {"name": "...", "allow": ["pack.Command"]}}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(variable, `${where} must be a JSON object mapping each token to {name, allow}`);
    }
    const entries = Object.entries(parsed).map(([token, entry], index) =>
      parseEntry(variable, `${where}: the ${ordinal(index + 1)} token`, token, entry),
    );
    if (entries.length === 0) throw new ConfigError(variable, `${where} has no token`);
    return new ApiTokens(entries.map(({ token, entry }) => ({ digest: sha256(token), token: entry })));
  }

  get configured(): boolean {
    return this.#entries.length > 0;
  }

  /** The token's entry, or undefined. Every configured token is compared, so timing tells nothing. */
  find(presented: string): ApiToken | undefined {
    // Hashing gives equal lengths, which timingSafeEqual needs, and hides the tokens' lengths.
    const given = sha256(presented);
    let found: ApiToken | undefined;
    for (const { digest, token } of this.#entries) {
      if (timingSafeEqual(given, digest)) found = token;
    }
    return found;
  }
}

function readTokensFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      variable,
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); give a JSON file's path or the JSON itself`,
    );
  }
}

function parseEntry(
  variable: string,
  label: string,
  token: string,
  entry: unknown,
): { token: string; entry: ApiToken } {
  const fields = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry : undefined;
  const { name, allow, ...rest } = (fields ?? {}) as Record<string, unknown>;
  const named = typeof name === 'string' && NAME.test(name) ? `${label} ("${name}")` : label;
  const fail = (message: string) => new ConfigError(variable, `${named} ${message}`);
  if (!fields) throw fail('must map to {"name": "...", "allow": [...]}');
  if (!TOKEN.test(token) || token.length < MIN_TOKEN_LENGTH) {
    throw fail(`must be at least ${MIN_TOKEN_LENGTH} characters of visible ASCII (no spaces)`);
  }
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw fail(
      'needs a "name": letters, digits, ".", "_" and "-", at most 64, starting with a letter or digit',
    );
  }
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw fail(`has unknown fields: ${unknown.join(', ')} (it takes name and allow)`);
  if (!Array.isArray(allow) || allow.length === 0 || !allow.every((item) => typeof item === 'string')) {
    throw fail('needs "allow": a non-empty list such as ["matrix.SendMessage", "notify.*"]');
  }
  const patterns = allow.map((text) => {
    const pattern = parseAllowPattern(text);
    if (!pattern) throw fail(`allows "${text}", which is not pack.Command, pack.* or *`);
    return pattern;
  });
  return { token, entry: { name, allow: patterns, allowText: allow } };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
