import type { Flow } from './flow.ts';
import { busPackName } from './flow-index.ts';
import type { FlowProblem } from './flows/parse-flow.ts';
import type { AnnouncedCommand } from './state/engine-store.ts';
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

/**
 * Checks each step's command against what its pack announced in PackStarted: the command exists, and the
 * input names every field the command's schema requires. Packs never seen are not checked.
 */
export function checkFlowCommands(
  flow: Flow,
  file: string,
  manifests: ReadonlyMap<string, AnnouncedCommand[]>,
): FlowProblem[] {
  const problems: FlowProblem[] = [];
  flow.steps.forEach((step, index) => {
    const pack = busPackName(step.command.packName);
    const commands = manifests.get(pack);
    if (!commands) return;
    const command = commands.find((candidate) => candidate.name === step.command.name);
    if (!command) {
      const known = commands.map((candidate) => candidate.name).join(', ') || 'none';
      problems.push({
        file,
        path: `/steps/${index}/command/name`,
        reason: `the ${pack} pack has no command "${step.command.name}" (it announced: ${known})`,
      });
      return;
    }
    const required = Array.isArray(command.inputSchema?.required)
      ? (command.inputSchema.required as string[])
      : [];
    const input = step.command.input;
    const given =
      typeof input === 'object' && input !== null && !Array.isArray(input) ? Object.keys(input) : [];
    for (const field of required.filter((name) => !given.includes(name))) {
      problems.push({
        file,
        path: `/steps/${index}/command/input`,
        reason: `missing "${field}", which ${pack}.${command.name} requires`,
      });
    }
  });
  return problems;
}
