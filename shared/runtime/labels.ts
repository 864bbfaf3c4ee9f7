import type { Labels } from '../envelope.ts';

/** Parses `env=prod,region=eu` (or `env=prod` repeated) into labels; throws with the offending part. */
export function parseLabels(text: string | readonly string[]): Record<string, string> {
  const parts = (typeof text === 'string' ? [text] : text).flatMap((item) => item.split(','));
  const labels: Record<string, string> = {};
  for (const part of parts.map((p) => p.trim()).filter((p) => p !== '')) {
    const equals = part.indexOf('=');
    const key = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (equals <= 0 || !/^[A-Za-z0-9_.-]+$/.test(key) || value === '') {
      throw new Error(`"${part}" is not a label: write key=value, keys of letters, digits, _ . -`);
    }
    labels[key] = value;
  }
  return labels;
}

/** True when `own` has every key of `wanted` with the same value (Flyte's packLabels rule). */
export function labelsInclude(own: Labels, wanted: Labels | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => own[key] === value);
}

/** Every non-empty subset of the labels: the label sets of commands this instance may run. */
export function nonEmptySubsets(labels: Labels): Array<Record<string, string>> {
  const entries = Object.entries(labels);
  const subsets: Array<Record<string, string>> = [];
  for (let mask = 1; mask < 1 << entries.length; mask++) {
    subsets.push(Object.fromEntries(entries.filter((_, index) => mask & (1 << index))));
  }
  return subsets;
}

/** Subsets grow as 2^n queues per instance; more labels than this is a configuration mistake. */
export const MAX_LABELS = 5;
