import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { resolveDataDir } from '../../engine/engine-config.ts';
import { busPackName, stepIdOf } from '../../engine/flow-index.ts';
import { checkFlowCommands, checkFlowTemplates } from '../../engine/flow-templates.ts';
import { FlowDirectory } from '../../engine/flows/flow-directory.ts';
import { type FlowProblem, parseFlow } from '../../engine/flows/parse-flow.ts';
import { DATABASE_FILE } from '../../engine/state/database.ts';
import { type AnnouncedCommand, EngineStore } from '../../engine/state/engine-store.ts';
import { evaluateStep } from '../../engine/step-evaluator.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { decodeEnvelope } from '../../shared/envelope.ts';
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
       rendered context and the command it would send. Exit status: 0 when a step fired, 1 when
       none did, 64 when the flow or the event is not valid. The datastore is empty in a dry run.
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
  for (const problem of problems) out.write(`${problem.file}:${problem.path || '/'}: ${problem.reason}\n`);
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
    for (const problem of parsed.problems)
      out.write(`${problem.file}:${problem.path || '/'}: ${problem.reason}\n`);
    return EXIT.usage;
  }
  const eventText = await readText(eventFile, 'event');
  const withDefaults = withEventDefaults(eventText);
  const decoded = decodeEnvelope(Buffer.from(withDefaults), 'event');
  if (!decoded.ok) throw new UsageError(`${eventFile}: ${decoded.reason}`);
  const event = decoded.envelope;
  const templates = new TemplateEngine({ datastore: () => undefined });
  let fired = 0;
  out.write(`event ${event.pack}.${event.name} against flow "${parsed.flow.name}"\n`);
  for (const [index, step] of parsed.flow.steps.entries()) {
    const outcome = await evaluateStep(step, event, {}, templates);
    const after = step.dependsOn?.length ? ` (continues after ${step.dependsOn.join(' or ')})` : '';
    if (outcome.fired) {
      fired++;
      out.write(`step ${stepIdOf(step, index)}${after}: fired\n`);
      out.write(`  context: ${JSON.stringify(outcome.context)}\n`);
      out.write(
        `  command: ${outcome.command.pack}.${outcome.command.name} ${JSON.stringify(outcome.command.payload)}\n`,
      );
      if (outcome.command.labels) out.write(`  labels:  ${JSON.stringify(outcome.command.labels)}\n`);
    } else {
      out.write(`step ${stepIdOf(step, index)}${after}: not fired (${outcome.stage}): ${outcome.reason}\n`);
      if (outcome.context) out.write(`  context: ${JSON.stringify(outcome.context)}\n`);
    }
  }
  out.write(fired > 0 ? `${fired} step(s) fired\n` : 'no step fired\n');
  return fired > 0 ? EXIT.ok : EXIT.failure;
}

/** An event file may hold only {pack, name, payload}; the pack name may be written as in flows ("Slack"). */
function withEventDefaults(text: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the event file is not JSON: ${(error as Error).message}`);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw new UsageError('the event file must hold a JSON object');
  return JSON.stringify({
    id: 'dry-run',
    ...event,
    pack: typeof event.pack === 'string' ? busPackName(event.pack) : event.pack,
  });
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}
