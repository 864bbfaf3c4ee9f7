import { Context, type Emitter, Liquid, type Template, toValueSync } from 'liquidjs';
import { BoundedCache } from './bounded-cache.ts';
import { registerCollectionFilters } from './collection-filters.ts';
import { type CriteriaResult, readCriteria } from './criteria.ts';
import { registerCronFilter } from './cron-filter.ts';
import { TextEmitter, ValueEmitter } from './emitters.ts';
import { registerFunctionFilters } from './function-filters.ts';
import { type ParsedTemplate, toParsedTemplate } from './parsed-template.ts';
import { registerRegexFilters } from './regex-filters.ts';
import { registerStringFilters } from './string-filters.ts';
import { TemplateError, toTemplateError } from './template-error.ts';
import { registerTemplateFilter } from './template-filter.ts';

export { type CriteriaResult, parseFlyteBool } from './criteria.ts';
export { TemplateError, type TemplateErrorCode } from './template-error.ts';

/** The variables a flow's templates see, named as in Flyte. */
export interface TemplateScope {
  Event: {
    Name: string;
    Pack: { Name: string; Labels: Record<string, string> };
    Payload: unknown;
    CreatedAt: string;
  };
  Context: Record<string, unknown>;
}

export interface TemplateEngineOptions {
  /** Looks a key up in the engine's datastore (values already parsed from JSON); undefined when missing. */
  datastore: (key: string) => unknown;
  /** Limits; a template that goes past one fails with a TemplateError coded TEMPLATE_LIMIT. */
  limits?: {
    /** Longest template source that will be parsed, in characters. Default 100,000. */
    parseLimit?: number;
    /** Longest time one render may take, in ms, checked between template nodes (liquidjs renderLimit). Default 250. */
    renderLimitMs?: number;
    /** Characters and elements one render may create, its output included (liquidjs memoryLimit). Default 10,000,000. */
    memoryLimit?: number;
    /** Longest text that `match` and `extractMatch` will search, in characters. Default 100,000. */
    maxRegexInputLength?: number;
  };
}

const DEFAULT_LIMITS = {
  parseLimit: 100_000,
  renderLimitMs: 250,
  memoryLimit: 10_000_000,
  maxRegexInputLength: 100_000,
} as const;

/**
 * Distinct template sources kept parsed. Every template of the loaded flows fits many times over; the
 * bound is for sources that come from events through the `template` filter.
 */
const PARSE_CACHE_SIZE = 5000;

/**
 * Flyte's template language on liquidjs: Flyte's filters and functions, strict about filter names and
 * lenient about missing variables (they render empty), each distinct source parsed once.
 */
export class TemplateEngine {
  readonly #liquid: Liquid;
  readonly #parsed = new BoundedCache<string, ParsedTemplate | TemplateError>(PARSE_CACHE_SIZE);

  constructor(options: TemplateEngineOptions) {
    const limits = options.limits ?? {};
    this.#liquid = new Liquid({
      strictFilters: true,
      strictVariables: false,
      ownPropertyOnly: true,
      // An empty in-memory file system: {% include %} and {% render %} must not read files, since the
      // `template` filter can render text that came in with an event.
      templates: {},
      parseLimit: limits.parseLimit ?? DEFAULT_LIMITS.parseLimit,
      renderLimit: limits.renderLimitMs ?? DEFAULT_LIMITS.renderLimitMs,
      memoryLimit: limits.memoryLimit ?? DEFAULT_LIMITS.memoryLimit,
    });
    // Filters resolve when a template is parsed, so all of them are registered before anything parses.
    registerStringFilters(this.#liquid);
    registerCollectionFilters(this.#liquid);
    registerRegexFilters(this.#liquid, {
      maxInputLength: limits.maxRegexInputLength ?? DEFAULT_LIMITS.maxRegexInputLength,
    });
    registerCronFilter(this.#liquid);
    registerFunctionFilters(this.#liquid, { datastore: options.datastore });
    registerTemplateFilter(this.#liquid, { parse: (source) => this.#parse(source).templates });
  }

  /** Parses (cached by source text) and checks every filter exists; throws TemplateError with the reason. */
  check(source: string): void {
    this.#parse(source);
  }

  async renderString(source: string, scope: TemplateScope): Promise<string> {
    if (isPlainText(source)) return source;
    const { templates } = this.#parse(source);
    const emitter = this.#render(source, templates, scope, (context) => new TextEmitter(context.memoryLimit));
    return emitter.buffer;
  }

  /**
   * Like renderString, but a source that is exactly one output expression (`{{ expr }}`, surrounding
   * whitespace allowed, no other text or tags) returns the value with its type: number, boolean, object,
   * array, null. A missing variable still renders "", as in Flyte.
   */
  async renderValue(source: string, scope: TemplateScope): Promise<unknown> {
    if (isPlainText(source)) return source;
    const parsed = this.#parse(source);
    if (parsed.single === undefined) return this.renderString(source, scope);
    const emitter = this.#render(source, [parsed.single], scope, () => new ValueEmitter());
    return emitter.value === undefined ? '' : emitter.value;
  }

  /** Renders every string leaf of a JSON value, however deep, with renderValue; other values pass through. Objects' keys are not rendered. */
  async renderInput(value: unknown, scope: TemplateScope): Promise<unknown> {
    if (typeof value === 'string') return this.renderValue(value, scope);
    if (Array.isArray(value)) {
      const items: unknown[] = [];
      for (const item of value) items.push(await this.renderInput(item, scope));
      return items;
    }
    if (typeof value === 'object' && value !== null) {
      const entries: Array<[string, unknown]> = [];
      for (const [key, item] of Object.entries(value)) {
        entries.push([key, await this.renderInput(item, scope)]);
      }
      // fromEntries defines own properties: an input key "__proto__" stays a key.
      return Object.fromEntries(entries);
    }
    return value;
  }

  /**
   * Renders a step's criteria and reads it like Go's strconv.ParseBool: returns {pass: true|false} or
   * {pass: false, reason} when the output is not a ParseBool value. Empty or whitespace-only criteria
   * source = true.
   */
  async evaluateCriteria(source: string | undefined, scope: TemplateScope): Promise<CriteriaResult> {
    if (source === undefined || source.trim() === '') return { pass: true, output: '' };
    return readCriteria(await this.renderString(source, scope));
  }

  #parse(source: string): ParsedTemplate {
    const parsed = this.#parsed.getOrCreate(source, () => {
      try {
        return toParsedTemplate(this.#liquid.parse(source));
      } catch (error) {
        return toTemplateError(error, source, 'parse');
      }
    });
    if (parsed instanceof TemplateError) throw parsed;
    return parsed;
  }

  /**
   * Renders synchronously: every filter here is synchronous (the datastore lookup too), and liquidjs's
   * sync path is about a third faster than its promise-driven one, which would not yield to the event
   * loop either. A filter that returns a Promise would need this switched to `toPromise` and `sync: false`.
   */
  #render<E extends Emitter>(
    source: string,
    templates: Template[],
    scope: TemplateScope,
    makeEmitter: (context: Context) => E,
  ): E {
    // One Context per render: it carries this render's time and memory budget.
    const context = new Context(scope, this.#liquid.options, { sync: true }, { liquid: this.#liquid });
    const emitter = makeEmitter(context);
    try {
      toValueSync(this.#liquid.renderer.renderTemplates(templates, context, emitter));
    } catch (error) {
      throw toTemplateError(error, source, 'render');
    }
    return emitter;
  }
}

/** Liquid markup starts with `{{` or `{%`; text without a `{` renders as itself and needs no parse. */
function isPlainText(source: string): boolean {
  return !source.includes('{');
}
