import { CONSOLE_VARIABLES } from '../console/console-config.ts';
import type { ProcessSetting } from '../console/process-settings.ts';
import { ENGINE_SETTINGS_HELP } from '../engine/engine-config.ts';
import type { Env } from '../shared/config.ts';
import { type ConfigVariable, listVariables, plainText } from '../shared/config-variables.ts';
import { COMMON_SETTINGS_HELP, RUNTIME_SETTINGS_HELP } from './cli-support.ts';

/** `  NAME   meaning (default: x)` lines of a --help text: the variables it documents, by name. */
function namesInHelp(help: string): string[] {
  return [...help.matchAll(/^\s+([A-Z][A-Z0-9_]+)\s{2,}/gm)].map((match) => match[1] as string);
}

/**
 * The variables a process reads, each with its value from `env` (for the console's This process, which
 * redacts them): the common and runtime ones, the engine's when it runs, the console's, and the packs'.
 */
export function processSettings(
  env: Env,
  options: { engine: boolean; packs: boolean; packVariables: readonly ConfigVariable[] },
): ProcessSetting[] {
  const helps = [COMMON_SETTINGS_HELP, ...(options.packs ? [RUNTIME_SETTINGS_HELP] : [])];
  if (options.engine) helps.push(ENGINE_SETTINGS_HELP);
  const described = [...listVariables(CONSOLE_VARIABLES), ...options.packVariables];
  const settings: ProcessSetting[] = helps.flatMap(namesInHelp).map((name) => ({ name, value: env[name] }));
  for (const variable of described) {
    settings.push({
      name: variable.name,
      value: env[variable.name],
      defaultText: plainText(variable.default),
      meaning: plainText(variable.meaning),
    });
  }
  return settings;
}
