import { filters, type Liquid } from 'liquidjs';
import type { FilterHandler, FilterThis } from './liquid-types.ts';
import { toText } from './value-text.ts';

/** Go's `\s` (RE2): tab, newline, form feed, carriage return, space. Not U+00A0: that is safecopypaste's job. */
const WHITESPACE_RUN = /[\t\n\f\r ]+/g;
const SURROGATE = /[\uD800-\uDFFF]/;

/** Flyte's string filters: Python-style `slice`, `removedupwhitespaces` and `safecopypaste`. */
export function registerStringFilters(liquid: Liquid): void {
  const builtinSlice = filters.slice as FilterHandler;

  /**
   * `{{ s | slice: '5:' }}` is Flyte's Python-style slice; any other arguments (`slice: 1, 2`) go to
   * Liquid's own slice, so both forms keep working under one name.
   */
  liquid.registerFilter('slice', function (this: FilterThis, input: unknown, ...args: unknown[]) {
    const [range] = args;
    if (args.length === 1 && typeof range === 'string' && range.includes(':')) {
      const sliced = pythonSlice(input, range);
      this.context.memoryLimit.use(sliced.length);
      return sliced;
    }
    return builtinSlice.call(this, input, ...args);
  });

  /** `{{ s | removedupwhitespaces }}`: each run of whitespace becomes one space; a trailing space is dropped, as in Flyte. */
  liquid.registerFilter('removedupwhitespaces', (input: unknown) => {
    const collapsed = toText(input).replace(WHITESPACE_RUN, ' ');
    return collapsed.endsWith(' ') ? collapsed.slice(0, -1) : collapsed;
  });

  /** `{{ s | safecopypaste }}`: non-breaking spaces (U+00A0, as pasted into Slack) become plain spaces. */
  liquid.registerFilter('safecopypaste', (input: unknown) => toText(input).replaceAll('\u00A0', ' '));
}

/**
 * Python's `s[from:to]`: counted in characters (code points), negative bounds count from the end, an
 * omitted bound is the start or the end, out-of-range bounds are clamped. Arrays slice by element.
 */
export function pythonSlice(input: unknown, range: string): string | unknown[] {
  const bounds = range.split(':');
  if (bounds.length !== 2) throw new Error(`slice: '${range}' is not 'from:to' (either may be omitted)`);
  const from = parseBound(bounds[0] ?? '', range);
  const to = parseBound(bounds[1] ?? '', range);
  // Array.prototype.slice clamps and counts negative bounds exactly as Python does for a step of 1.
  if (Array.isArray(input)) return input.slice(from, to);
  const text = toText(input);
  if (!SURROGATE.test(text)) return text.slice(from, to);
  return Array.from(text).slice(from, to).join('');
}

function parseBound(bound: string, range: string): number | undefined {
  const trimmed = bound.trim();
  if (trimmed === '') return undefined;
  if (!/^[+-]?\d+$/.test(trimmed)) {
    throw new Error(`slice: '${range}' has a bound that is not a whole number`);
  }
  return Number(trimmed);
}
