/**
 * How a value reads as text, in rendered output and as a filter's string input. Unlike Flyte (pongo2
 * printed `5.000000` and `True`) numbers and booleans read as JavaScript writes them, and maps and
 * arrays read as JSON rather than Liquid's joined elements or `[object Object]`.
 */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value) ?? '';
    } catch {
      // A cycle cannot come from JSON input; a stringified placeholder is enough if a filter made one.
      return String(value);
    }
  }
  return String(value);
}
