import githubWorkflowRun from '../../docs/examples/github-workflow-run.event.json' with { type: 'json' };
import jobservBuild67 from '../../docs/examples/jobserv-build-67.event.json' with { type: 'json' };
import slackEcho from '../../docs/examples/slack-echo-message.event.json' with { type: 'json' };

/** An event the Try page offers to paste: what a pack emits, without id or createdAt (a dry run fills them). */
export interface TrySample {
  id: string;
  title: string;
  description: string;
  event: { pack: string; name: string; payload: unknown };
}

/**
 * The shipped samples (issue 13, Try), kept in docs/examples/ so that `switchboard flows test --event`
 * takes them too; test/console/try-samples.test.ts checks they are what the packs emit.
 */
export const TRY_SAMPLES: readonly TrySample[] = [
  {
    id: 'slack-echo',
    title: 'Slack: "echo hello"',
    description: 'A Slack ReceivedMessage saying "echo hello": the echo flow (flows/echo.json) answers it.',
    event: slackEcho,
  },
  {
    id: 'jobserv-build-67',
    title: 'JobServ: build 67 passed',
    description:
      'What the ci-webhook pack emits for JobServ build 67 (docs/examples/jobserv-build.json): a BuildCompleted that the build announcements post.',
    event: jobservBuild67,
  },
  {
    id: 'github-workflow-run',
    title: 'GitHub: workflow_run completed',
    description:
      'What the ci-webhook pack emits for a GitHub workflow_run delivery (action completed, conclusion success).',
    event: githubWorkflowRun,
  },
];
