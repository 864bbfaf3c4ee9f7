import { randomBytes, randomInt } from 'node:crypto';
import type { Liquid } from 'liquidjs';
import type { FilterThis } from './liquid-types.ts';
import { toText } from './value-text.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Bytes at or above this are redrawn, so that every letter is equally likely (256 is not a multiple of 52). */
const UNBIASED_BYTES = 256 - (256 % LETTERS.length);
/** crypto.randomInt's largest range. */
const MAX_RANDOM_BOUND = 2 ** 48 - 1;
/** Base64 in either alphabet (standard or URL-safe), padded or not. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Flyte's template functions, written as filters on their first argument:
 * `{{ 10 | randomInt }}`, `{{ 8 | randomAlpha }}`, `{{ s | base64Encode }}`, `{{ s | base64Decode }}`,
 * `{{ 'key' | datastore }}`, `{{ s | unmarshalJson }}`. (`template` has its own module.)
 */
export function registerFunctionFilters(
  liquid: Liquid,
  options: { datastore: (key: string) => unknown },
): void {
  /** A whole number from 0 to n-1. */
  liquid.registerFilter('randomInt', (bound: unknown) => {
    const n = Number(bound);
    if (!Number.isInteger(n) || n < 1 || n > MAX_RANDOM_BOUND) {
      throw new Error(
        `randomInt: the bound must be a whole number from 1 to 2^48-1, not ${JSON.stringify(toText(bound))}`,
      );
    }
    return randomInt(n);
  });

  /** n random ASCII letters. */
  liquid.registerFilter('randomAlpha', function (this: FilterThis, length: unknown) {
    const n = Number(length);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(
        `randomAlpha: word length must be a non-negative whole number, not ${JSON.stringify(toText(length))}`,
      );
    }
    this.context.memoryLimit.use(n);
    let word = '';
    while (word.length < n) {
      for (const byte of randomBytes(n - word.length)) {
        if (byte < UNBIASED_BYTES) word += LETTERS[byte % LETTERS.length];
      }
    }
    return word;
  });

  /** UTF-8 bytes of s in URL-safe base64 without padding (Go's base64.RawURLEncoding). */
  liquid.registerFilter('base64Encode', function (this: FilterThis, input: unknown) {
    const encoded = Buffer.from(toText(input), 'utf8').toString('base64url');
    this.context.memoryLimit.use(encoded.length);
    return encoded;
  });

  /** The UTF-8 text of base64 input; accepts URL-safe (Flyte's) and standard alphabets, padded or not. */
  liquid.registerFilter('base64Decode', function (this: FilterThis, input: unknown) {
    const text = toText(input);
    const notBase64 = () => new Error('base64Decode: the input is not base64');
    // Node's decoder skips characters it does not know; refuse them instead, as Go did.
    if (!BASE64.test(text)) throw notBase64();
    const unpadded = text.replace(/=+$/, '');
    const padded = unpadded.length !== text.length;
    if (unpadded.length % 4 === 1 || (padded && text.length % 4 !== 0)) throw notBase64();
    const decoded = Buffer.from(unpadded, 'base64').toString('utf8');
    this.context.memoryLimit.use(decoded.length);
    return decoded;
  });

  /** The datastore's value for a key (already parsed from JSON); nil (renders empty) when there is none. */
  liquid.registerFilter('datastore', (key: unknown) => options.datastore(toText(key)) ?? null);

  /** The value a JSON string holds; invalid JSON fails the render. */
  liquid.registerFilter('unmarshalJson', function (this: FilterThis, input: unknown) {
    const text = toText(input);
    this.context.memoryLimit.use(text.length);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new Error(`unmarshalJson: invalid JSON: ${(error as Error).message}`, { cause: error });
    }
  });
}
