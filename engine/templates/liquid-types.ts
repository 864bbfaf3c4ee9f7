import type { Context, FilterImplOptions } from 'liquidjs';

/** Names for liquidjs types that its index does not export. */
export type FilterHandler = Extract<FilterImplOptions, (...args: never[]) => unknown>;
/** What a filter's `this` holds: the render's `context`, the filter's `token` and the `liquid` instance. */
export type FilterThis = ThisParameterType<FilterHandler>;
/** liquidjs's counter behind memoryLimit and renderLimit. */
export type Limiter = Context['memoryLimit'];
