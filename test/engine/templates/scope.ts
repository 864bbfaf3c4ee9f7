import type { TemplateScope } from '../../../engine/templates/template-engine.ts';

/** The variables a template sees for an event of the pack "Tests" with this payload and context. */
export function scope(payload: unknown, context: Record<string, unknown> = {}): TemplateScope {
  return {
    Event: {
      Name: 'Test',
      Pack: { Name: 'Tests', Labels: {} },
      Payload: payload,
      CreatedAt: '2024-01-01T00:00:00Z',
    },
    Context: context,
  };
}
