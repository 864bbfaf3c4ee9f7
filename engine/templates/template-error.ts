/**
 * Why a template failed, one stable code each:
 * - `TEMPLATE_SYNTAX`: the source does not parse, or it names a filter that does not exist.
 * - `TEMPLATE_RENDER`: an expression or a filter failed while rendering (bad argument, invalid JSON, ...).
 * - `TEMPLATE_LIMIT`: a parse-length, render-time, memory, regex-input or nesting limit was exceeded.
 */
export type TemplateErrorCode = 'TEMPLATE_SYNTAX' | 'TEMPLATE_RENDER' | 'TEMPLATE_LIMIT';

/** How much of the source an error repeats: flows can hold long templates, logs should not. */
const SOURCE_SHOWN = 200;

/** A template that could not be parsed or rendered, with the reason and (the start of) its source. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  readonly code: TemplateErrorCode;
  readonly reason: string;
  /** The template source, cut to its first 200 characters. */
  readonly source: string;

  constructor(code: TemplateErrorCode, reason: string, source: string, options?: { cause?: unknown }) {
    const shown = source.length > SOURCE_SHOWN ? `${source.slice(0, SOURCE_SHOWN)}…` : source;
    super(`${reason} (in template ${JSON.stringify(shown)})`, options);
    this.code = code;
    this.reason = reason;
    this.source = shown;
  }
}

/** Thrown by our filters when input goes past a configured limit, so that the error is coded TEMPLATE_LIMIT. */
export class LimitExceededError extends Error {
  override readonly name = 'LimitExceededError';
}

/** Wraps whatever liquidjs or a filter threw into a TemplateError for `source`. */
export function toTemplateError(error: unknown, source: string, stage: 'parse' | 'render'): TemplateError {
  if (error instanceof TemplateError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const code = isLimitError(error)
    ? 'TEMPLATE_LIMIT'
    : stage === 'parse'
      ? 'TEMPLATE_SYNTAX'
      : 'TEMPLATE_RENDER';
  return new TemplateError(code, reason, source, { cause: error });
}

/**
 * liquidjs reports its parseLimit, renderLimit and memoryLimit with a plain AssertionError whose message
 * ends in "limit exceeded"; inside a render it arrives wrapped in a RenderError's `originalError`.
 */
function isLimitError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    if (current instanceof TemplateError) return current.code === 'TEMPLATE_LIMIT';
    if (current instanceof LimitExceededError) return true;
    if (current.name === 'AssertionError' && current.message.endsWith('limit exceeded')) return true;
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return false;
}
