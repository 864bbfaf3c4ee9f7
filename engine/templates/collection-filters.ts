import type { Liquid } from 'liquidjs';
import { toText } from './value-text.ts';

/** Flyte's `key`, `kvp` and `index`. */
export function registerCollectionFilters(liquid: Liquid): void {
  /** `{{ map | key: 'k' }}`: the map's own entry k; nil (renders empty) when missing or when the input is no map. */
  liquid.registerFilter('key', (input: unknown, key: unknown) => {
    if (input instanceof Map) return input.get(key) ?? null;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
    const name = toText(key);
    return Object.hasOwn(input, name) ? (input as Record<string, unknown>)[name] : null;
  });

  /**
   * `{{ 'a=1, b=2' | kvp }}` -> `{a: '1', b: '2'}`: split on `,`, then on the first `=`, both sides
   * trimmed; a part without `=` is skipped.
   */
  liquid.registerFilter('kvp', (input: unknown) => {
    const entries: Array<[string, string]> = [];
    for (const part of toText(input).split(',')) {
      const equals = part.indexOf('=');
      if (equals >= 0) entries.push([part.slice(0, equals).trim(), part.slice(equals + 1).trim()]);
    }
    // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
    return Object.fromEntries(entries);
  });

  /**
   * `{{ list | index: n }}`: element n of an array (nil when out of range) or the nth character of a
   * string ("" when out of range), counted from 0. Negative n is nil, as in Flyte (pongo2).
   */
  liquid.registerFilter('index', (input: unknown, position: unknown) => {
    const n = Number(position);
    if (!Number.isInteger(n)) {
      throw new Error(`index: ${JSON.stringify(toText(position))} is not a whole number`);
    }
    if (n < 0) return null;
    if (Array.isArray(input)) return n < input.length ? input[n] : null;
    if (typeof input !== 'string') return '';
    let at = 0;
    for (const character of input) {
      if (at++ === n) return character;
    }
    return '';
  });
}
