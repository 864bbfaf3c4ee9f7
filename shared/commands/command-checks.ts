import type { Logger } from '../observability/logger.ts';
import { type InputCheck, InputValidator } from '../runtime/input-validator.ts';
import type { AnnouncedCommand, PackAnnouncement } from './pack-directory.ts';

/**
 * Checks a payload against the input schema a pack announced, as the pack itself will (the same ajv
 * settings, through InputValidator), so that a sender (the console's Send page, the HTTP command API)
 * learns of a wrong field at once instead of from a failure event. Each schema is compiled once per
 * announcement, on the first send that needs it, never per call.
 */
export class CommandChecks {
  readonly #compiled = new WeakMap<PackAnnouncement, Map<string, InputValidator | undefined>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  check(announcement: PackAnnouncement, command: AnnouncedCommand, payload: unknown): InputCheck {
    let validators = this.#compiled.get(announcement);
    if (!validators) {
      validators = new Map();
      this.#compiled.set(announcement, validators);
    }
    if (!validators.has(command.name)) validators.set(command.name, this.#compile(announcement, command));
    // A schema that does not compile here is not checked before sending: the pack checks every payload itself and
    // answers invalid_input (the Switchboard runtime refuses to start with a schema that does not compile).
    return validators.get(command.name)?.check(command.name, payload) ?? { ok: true };
  }

  #compile(announcement: PackAnnouncement, command: AnnouncedCommand): InputValidator | undefined {
    try {
      return new InputValidator({ [command.name]: command.inputSchema });
    } catch (error) {
      this.#logger.warn(
        { pack: announcement.pack, command: command.name, reason: (error as Error).message },
        'an announced input schema does not compile; payloads for it go to the pack unchecked',
      );
      return undefined;
    }
  }
}
