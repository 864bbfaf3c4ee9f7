import type { Flow } from './flow.ts';
import type { FlowProblem } from './flows/parse-flow.ts';
import type { TemplateEngine } from './templates/template-engine.ts';

/** Every template of a flow with its JSON pointer: criteria, context values, string leaves of command input. */
export function templateSources(flow: Flow): Array<{ path: string; source: string }> {
  const sources: Array<{ path: string; source: string }> = [];
  flow.steps.forEach((step, index) => {
    const base = `/steps/${index}`;
    if (step.criteria !== undefined) sources.push({ path: `${base}/criteria`, source: step.criteria });
    for (const [key, source] of Object.entries(step.context ?? {})) {
      sources.push({ path: `${base}/context/${escapePointer(key)}`, source });
    }
    collectStrings(step.command.input, `${base}/command/input`, sources);
  });
  return sources;
}

/** Parses every template of the flow; a template that does not parse, or names an unknown filter, is a problem. */
export function checkFlowTemplates(flow: Flow, file: string, templates: TemplateEngine): FlowProblem[] {
  const problems: FlowProblem[] = [];
  for (const { path, source } of templateSources(flow)) {
    try {
      templates.check(source);
    } catch (error) {
      problems.push({ file, path, reason: (error as Error).message });
    }
  }
  return problems;
}

function collectStrings(value: unknown, path: string, into: Array<{ path: string; source: string }>): void {
  if (typeof value === 'string') {
    into.push({ path, source: value });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      collectStrings(item, `${path}/${index}`, into);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value))
      collectStrings(item, `${path}/${escapePointer(key)}`, into);
  }
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
