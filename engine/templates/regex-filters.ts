import type { Liquid } from 'liquidjs';
import { RE2JS } from 're2js';
import { BoundedCache } from './bounded-cache.ts';
import { LimitExceededError } from './template-error.ts';
import { toText } from './value-text.ts';

/** Distinct patterns kept compiled; a flow uses a handful, a pattern taken from an event could be anything. */
const PATTERN_CACHE_SIZE = 1000;

/**
 * Flyte's `match` and `extractMatch`, on RE2 (re2js): matching takes time linear in the input, so a
 * pattern like `(a+)+$` cannot hang on text a stranger sent. Patterns use RE2 syntax, like Go's regexp.
 */
export function registerRegexFilters(liquid: Liquid, options: { maxInputLength: number }): void {
  const patterns = new BoundedCache<string, RE2JS | Error>(PATTERN_CACHE_SIZE);
  const compile = (pattern: unknown): RE2JS | Error =>
    patterns.getOrCreate(toText(pattern), (source) => {
      try {
        return RE2JS.compile(source);
      } catch (error) {
        return error as Error;
      }
    });
  const subject = (filter: string, input: unknown): string => {
    const text = toText(input);
    if (text.length > options.maxInputLength) {
      throw new LimitExceededError(
        `${filter}: the input has ${text.length} characters, more than the ${options.maxInputLength} a regex may search`,
      );
    }
    return text;
  };

  /** `{{ s | match: 're' }}`: whether the pattern occurs anywhere in s (not anchored); an invalid pattern is false. */
  liquid.registerFilter('match', (input: unknown, pattern: unknown) => {
    const regex = compile(pattern);
    return regex instanceof Error ? false : regex.test(subject('match', input));
  });

  /** `{{ s | extractMatch: 're' }}`: the first capture group of the first match; s itself when nothing matches. */
  liquid.registerFilter('extractMatch', (input: unknown, pattern: unknown) => {
    const regex = compile(pattern);
    // Flyte failed the render here (a nil matcher); a silent fallback would hide a typo in the flow.
    if (regex instanceof Error) throw new Error(`extractMatch: invalid regular expression: ${regex.message}`);
    const text = subject('extractMatch', input);
    const found = regex.exec(text);
    if (found === null || found.length < 2) return text;
    // A group that took no part in the match reads as "", as in Go's FindStringSubmatch.
    return found[1] ?? '';
  });
}
