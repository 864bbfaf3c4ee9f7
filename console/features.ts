import { deadLettersFeature } from './dead-letters/dead-letters-feature.ts';
import { executionsFeature } from './executions/executions-feature.ts';
import { flowsFeature } from './flows/flows-feature.ts';
import { liveFeature } from './live/live-feature.ts';
import { overviewFeature } from './overview/overview-feature.ts';
import type { FeatureFactory } from './routes.ts';
import { sendFeature } from './send/send-feature.ts';
import { settingsFeature } from './settings/settings-feature.ts';

/** Every page's server side (Try is served by the flows feature: it dry-runs the loaded flows). */
export const CONSOLE_FEATURES: readonly FeatureFactory[] = [
  overviewFeature,
  flowsFeature,
  liveFeature,
  executionsFeature,
  deadLettersFeature,
  sendFeature,
  settingsFeature,
];
