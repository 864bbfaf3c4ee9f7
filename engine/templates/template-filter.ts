import type { Liquid, Template } from 'liquidjs';
import { TextEmitter } from './emitters.ts';
import type { FilterThis } from './liquid-types.ts';
import { LimitExceededError } from './template-error.ts';
import { toText } from './value-text.ts';

/** Where a nested render keeps how deep it is; registers belong to one render context. */
const DEPTH_REGISTER = 'switchboard.templateDepth';
/** A template that renders itself would otherwise recurse until the stack runs out. */
const MAX_DEPTH = 8;

/**
 * Flyte's `template(tpl, map)` as a filter: `{{ tpl | template: map }}` renders the string tpl as a
 * template whose variables are map's entries; `name: value` arguments add or override variables
 * (`{{ tpl | template: map, team: Event.Payload.team }}`). Like Flyte, the nested template sees only
 * those variables, not Event or Context. It shares the outer render's time and memory limits.
 */
export function registerTemplateFilter(
  liquid: Liquid,
  options: { parse: (source: string) => Template[] },
): void {
  liquid.registerFilter('template', function (this: FilterThis, source: unknown, ...args: unknown[]) {
    const depth = this.context.getRegister<number>(DEPTH_REGISTER, 0) + 1;
    if (depth > MAX_DEPTH) {
      throw new LimitExceededError(`template: templates nested more than ${MAX_DEPTH} deep`);
    }
    const templates = options.parse(toText(source));
    const nested = this.context.spawn(templateVariables(this.token.args, args));
    nested.setRegister(DEPTH_REGISTER, depth);
    // A filter may return liquidjs's render generator: the caller runs it, in sync and async renders alike.
    return liquid.renderer.renderTemplates(templates, nested, new TextEmitter(nested.memoryLimit));
  });
}

/** liquidjs passes a `name: value` argument as a [name, value] pair; its token is then an array too. */
function templateVariables(tokens: readonly unknown[], values: readonly unknown[]): Record<string, unknown> {
  const entries: Array<[string, unknown]> = [];
  values.forEach((value, position) => {
    if (Array.isArray(tokens[position])) {
      const [name, named] = value as [string, unknown];
      entries.push([name, named]);
    } else if (value instanceof Map) {
      for (const [name, named] of value) entries.push([toText(name), named]);
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      entries.push(...Object.entries(value));
    } else if (value !== null && value !== undefined) {
      throw new Error(`template: the variables must be a map, not ${JSON.stringify(toText(value))}`);
    }
  });
  return Object.fromEntries(entries);
}
