import type { Emitter } from 'liquidjs';
import type { Limiter } from './liquid-types.ts';
import { toText } from './value-text.ts';

/** Collects rendered text, charging it to the render's memory limit so output cannot grow without bound. */
export class TextEmitter implements Emitter {
  buffer = '';
  readonly #memory: Limiter;

  constructor(memory: Limiter) {
    this.#memory = memory;
  }

  write(value: unknown): void {
    const text = toText(value);
    this.#memory.use(text.length);
    this.buffer += text;
  }
}

/** Keeps the value of a template's only output expression, with its type. */
export class ValueEmitter implements Emitter {
  buffer = '';
  value: unknown;

  write(value: unknown): void {
    this.value = value;
  }
}
