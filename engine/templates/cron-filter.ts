import { Cron } from 'croner';
import type { Liquid } from 'liquidjs';
import { BoundedCache } from './bounded-cache.ts';
import { toText } from './value-text.ts';

const EXPRESSION_CACHE_SIZE = 500;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * `{{ time | matchesCron: '18 23 * * *' }}`: whether an RFC 3339 time falls in a minute that a 5-field
 * cron expression names. The fields are read on the time's own wall clock (its written offset), as Go's
 * cronexpr did in Flyte, and seconds are ignored. A bad time or expression fails the render.
 */
export function registerCronFilter(liquid: Liquid): void {
  const expressions = new BoundedCache<string, Cron | Error>(EXPRESSION_CACHE_SIZE);
  liquid.registerFilter('matchesCron', (input: unknown, expression: unknown) => {
    const minute = wallClockMinute(toText(input));
    const cron = expressions.getOrCreate(toText(expression), (source) => {
      try {
        // No callback: nothing is scheduled, the instance only answers match(). utcOffset 0 makes it
        // read the Date's UTC fields, where wallClockMinute put the wall-clock time.
        return new Cron(source, { mode: '5-part', utcOffset: 0 });
      } catch (error) {
        return error as Error;
      }
    });
    if (cron instanceof Error) {
      throw new Error(
        `matchesCron: ${JSON.stringify(toText(expression))} is not a 5-field cron expression: ${cron.message}`,
      );
    }
    return cron.match(minute);
  });
}

/** The minute of an RFC 3339 time as written (offset not applied), as a Date whose UTC fields hold it. */
export function wallClockMinute(text: string): Date {
  const parts = RFC3339.exec(text);
  const invalid = () => new Error(`matchesCron: ${JSON.stringify(text)} is not an RFC 3339 time`);
  if (parts === null) throw invalid();
  const field = (group: number) => Number(parts[group] ?? 0);
  const [year, month, day, hour, minute, second] = [
    field(1),
    field(2),
    field(3),
    field(4),
    field(5),
    field(6),
  ];
  const [offsetHour, offsetMinute] = [field(7), field(8)];
  if (hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) throw invalid();
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not move years 0-99 into the 1900s.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, 0, 0);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) throw invalid();
  return date;
}
