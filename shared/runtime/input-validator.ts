import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { JsonSchema } from './pack-definition.ts';

export type InputCheck = { ok: true } | { ok: false; reason: string };

/** Compiles every command's input schema once, at start; a bad schema is the pack's bug and fails start. */
export class InputValidator {
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(schemas: Record<string, JsonSchema>) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    for (const [command, schema] of Object.entries(schemas)) {
      try {
        this.#validators.set(command, ajv.compile(schema));
      } catch (error) {
        throw new Error(`the input schema of ${command} does not compile: ${(error as Error).message}`);
      }
    }
  }

  check(command: string, payload: unknown): InputCheck {
    const validate = this.#validators.get(command);
    if (!validate) throw new Error(`no input schema for ${command}`);
    if (validate(payload)) return { ok: true };
    return { ok: false, reason: describeErrors(validate.errors ?? []) };
  }
}

/** ajv's errors as a sentence a sender can act on: `payload.channelId must be string`. */
function describeErrors(errors: ErrorObject[]): string {
  return errors
    .map((error) => {
      const where = `payload${error.instancePath.replaceAll('/', '.')}`;
      if (error.keyword === 'required')
        return `${where} must have the field "${error.params.missingProperty}"`;
      if (error.keyword === 'additionalProperties') {
        return `${where} has the unknown field "${error.params.additionalProperty}"`;
      }
      return `${where} ${error.message}`;
    })
    .join('; ');
}
