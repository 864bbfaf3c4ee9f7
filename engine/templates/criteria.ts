/**
 * Go's strconv.ParseBool, which Flyte used to read a step's rendered criteria: "1", "t", "T", "TRUE",
 * "true", "True" are true; "0", "f", "F", "FALSE", "false", "False" are false; anything else is
 * undefined (Go's error).
 */
export function parseFlyteBool(text: string): boolean | undefined {
  switch (text) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

export interface CriteriaResult {
  pass: boolean;
  /** What the criteria rendered. */
  output: string;
  /** Set when the output is not a boolean, so the step is skipped with this reason. */
  reason?: string;
}

/**
 * Reads rendered criteria. Whitespace around the output is ignored (tags and line breaks in a criteria
 * template leave some; Flyte would have refused "true\n").
 */
export function readCriteria(output: string): CriteriaResult {
  const value = parseFlyteBool(output.trim());
  if (value !== undefined) return { pass: value, output };
  const shown = output.length > 100 ? `${output.slice(0, 100)}…` : output;
  return {
    pass: false,
    output,
    reason: `the criteria rendered ${JSON.stringify(shown)}, which is not a boolean (true/false, t/f, 1/0)`,
  };
}
