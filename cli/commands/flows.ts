import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type DependsOnOutcome, dryRunFlow, readDryRunEvent } from '../../engine/dry-run.ts';
import { resolveDataDir } from '../../engine/engine-config.ts';
import { checkFlowCommands, checkFlowTemplates } from '../../engine/flow-templates.ts';
import { FlowDirectory } from '../../engine/flows/flow-directory.ts';
import { type FlowProblem, formatProblem, parseFlow } from '../../engine/flows/parse-flow.ts';
import { DATABASE_FILE } from '../../engine/state/database.ts';
import { type AnnouncedCommand, EngineStore } from '../../engine/state/engine-store.ts';
import type { StepOutcome } from '../../engine/step-evaluator.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { type CliCommand, EXIT, parseCommandLine, UsageError } from '../cli-support.ts';

export const flowsCommand: CliCommand = {
  name: 'flows',
  summary: 'check flows, or dry-run one against an event',
  help: `Usage: switchboard flows check [DIR] [--data-dir DIR]
       switchboard flows test <flow-file> --event <event.json>

check  validates every flow in DIR (default: ./flows): the schema (docs/flow.schema.json), that
       every template parses and uses known filters, that dependsOn names existing steps, and, for
       packs the engine has seen start (their PackStarted, kept in --data-dir), that each command
       exists and its input has the fields the command requires.
       Lists every problem as file:path: reason and exits 1 when there is any.

test   runs one flow against one event without a bus. The event file holds an event as it travels
       on the bus, {"pack", "name", "payload"} (other envelope fields optional). For each step it
       prints whether it fired and, if not, exactly why (pack, name, labels, criteria output), the
       rendered context and the command it would send. A step with dependsOn runs only on the
       result of a step it depends on: it shows as not fired (dependsOn), with what it would do if
       this event were that result. Exit status: 0 when a step fired, 1 when none did, 64 when the
       flow or the event is not valid. The datastore is empty in a dry run. The console's Try page
       runs the same dry run against every loaded flow.
`,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(
      argv,
      { event: { type: 'string' }, 'data-dir': { type: 'string' } },
      true,
    );
    const [action, target, ...rest] = positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (action === 'check') {
      return check(
        resolve(target ?? './flows'),
        knownPacks(resolveDataDir(io.env, { dataDir: values['data-dir'] })),
        io.stdout,
      );
    }
    if (action === 'test') {
      if (!target || !values.event)
        throw new UsageError('flows test needs a flow file and --event <event.json>');
      return dryRun(target, values.event, io.stdout);
    }
    throw new UsageError('say check or test');
  },
};

/** The commands packs announced, as the engine recorded them; none when the engine never ran here. */
function knownPacks(dataDir: string): Map<string, AnnouncedCommand[]> {
  if (!existsSync(join(dataDir, DATABASE_FILE))) return new Map();
  const store = EngineStore.openReadOnly(dataDir);
  try {
    return store.packManifests();
  } finally {
    store.close();
  }
}

async function check(
  dir: string,
  manifests: ReadonlyMap<string, AnnouncedCommand[]>,
  out: NodeJS.WritableStream,
): Promise<number> {
  const templates = new TemplateEngine({ datastore: () => undefined });
  const problems: FlowProblem[] = [];
  // The engine's own loader, once and unwatched: the same files, parsing and duplicate-name rule.
  let directory: FlowDirectory;
  try {
    directory = await FlowDirectory.open({
      dir,
      watch: false,
      validate: (flow, file) => [
        ...checkFlowTemplates(flow, file, templates),
        ...checkFlowCommands(flow, file, manifests),
      ],
      onProblems: (found) => problems.push(...found),
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  await directory.close();
  const files = new Set([
    ...directory.flows().map((loaded) => loaded.file),
    ...problems.map((problem) => problem.file),
  ]);
  for (const problem of problems) out.write(`${formatProblem(problem)}\n`);
  out.write(
    problems.length === 0
      ? `${files.size} flow file(s) in ${dir}: no problems\n`
      : `${problems.length} problem(s) in ${files.size} flow file(s)\n`,
  );
  return problems.length === 0 ? EXIT.ok : EXIT.failure;
}

async function dryRun(flowFile: string, eventFile: string, out: NodeJS.WritableStream): Promise<number> {
  const parsed = parseFlow(basename(flowFile), await readText(flowFile, 'flow'));
  if (!parsed.flow) {
    for (const problem of parsed.problems) out.write(`${formatProblem(problem)}\n`);
    return EXIT.usage;
  }
  const eventText = await readText(eventFile, 'event');
  let value: unknown;
  try {
    value = JSON.parse(eventText);
  } catch (error) {
    throw new UsageError(`the event file is not JSON: ${(error as Error).message}`);
  }
  const read = readDryRunEvent(value);
  if (!read.ok) throw new UsageError(`${eventFile}: ${read.reason}`);
  const { event } = read;
  const templates = new TemplateEngine({ datastore: () => undefined });
  const result = await dryRunFlow(parsed.flow, event, templates);
  out.write(`event ${event.pack}.${event.name} against flow "${result.flow}"\n`);
  for (const step of result.steps) {
    const after = step.dependsOn.length > 0 ? ` (continues after ${step.dependsOn.join(' or ')})` : '';
    out.write(`step ${step.stepId}${after}: ${describeOutcome(step)}`);
    if (!step.fired && step.stage === 'dependsOn')
      out.write(`  if this event were that result: ${describeOutcome(step.ifContinued, '    ')}`);
  }
  out.write(result.fired > 0 ? `${result.fired} step(s) fired\n` : 'no step fired\n');
  return result.fired > 0 ? EXIT.ok : EXIT.failure;
}

/** One step's outcome as lines: fired with its context and command, or not fired with the reason. */
function describeOutcome(outcome: StepOutcome | DependsOnOutcome, indent = '  '): string {
  if (outcome.fired) {
    const { command } = outcome;
    return [
      'fired\n',
      `${indent}context: ${JSON.stringify(outcome.context)}\n`,
      `${indent}command: ${command.pack}.${command.name} ${JSON.stringify(command.payload)}\n`,
      command.labels ? `${indent}labels:  ${JSON.stringify(command.labels)}\n` : '',
    ].join('');
  }
  const context =
    'context' in outcome && outcome.context ? `${indent}context: ${JSON.stringify(outcome.context)}\n` : '';
  return `not fired (${outcome.stage}): ${outcome.reason}\n${context}`;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}
