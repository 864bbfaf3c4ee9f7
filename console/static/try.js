// The Try page: an event (pasted, or a sample from GET /api/flows/samples) dry-run against every loaded
// flow by POST /api/flows/test, step by step; or, after a confirmation, published for real and linked to
// the execution it starts. Preact + htm from /vendor/: no build step, no inline script.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';
import { useEffect, useState } from '/vendor/preact-hooks.mjs';

const html = htm.bind(h);

/** Why a step did not fire, in words; the API's stage and reason follow. */
const STAGE_WORDS = {
  pack: 'the event did not match (its pack)',
  name: 'the event did not match (its name)',
  labels: 'the event did not match (its pack labels)',
  criteria: 'the criteria are false',
  dependsOn: 'it waits for a step it depends on',
  error: 'a template failed',
};

const json = (value) => JSON.stringify(value, null, 2);

async function postJson(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error?.message ?? `${path} answered ${response.status}`);
  return answer;
}

function Outcome({ outcome }) {
  if (outcome.fired) {
    return html`<p><strong class="fired">fired</strong>: it would send <code>${outcome.command.pack}.${outcome.command.name}</code></p>
      <pre class="command" aria-label="The rendered command"><code>${json(outcome.command)}</code></pre>
      <details><summary>Its context</summary><pre><code>${json(outcome.context)}</code></pre></details>`;
  }
  return html`<p><strong class="not-fired">not fired</strong>, because ${STAGE_WORDS[outcome.stage] ?? outcome.stage}: ${outcome.reason}</p>
    ${outcome.context ? html`<details><summary>Its context</summary><pre><code>${json(outcome.context)}</code></pre></details>` : null}`;
}

function Step({ step }) {
  return html`<li class="try-step" data-step=${step.stepId} data-fired=${String(step.fired)}>
    <p class="step-name">Step <code>${step.stepId}</code>${step.dependsOn.length > 0 ? ` (after ${step.dependsOn.join(' or ')})` : ''}</p>
    <${Outcome} outcome=${step} />
    ${
      step.stage === 'dependsOn'
        ? html`<div class="if-continued"><p>If this event were that result:</p><${Outcome} outcome=${step.ifContinued} /></div>`
        : null
    }
  </li>`;
}

function Published({ published }) {
  return html`<div class="published" role="status">
    <p>Published event <code>${published.id}</code> on the bus (the broker confirmed it).</p>
    ${
      published.instances.length === 0
        ? html`<p>No flow starts an instance for it, so there is no execution to follow; see it pass on <a href="/live">Live</a>.</p>`
        : html`<ul>
            ${published.instances.map(
              (instance) => html`<li key=${instance.correlationId}>
                <a href=${`/executions?instance=${encodeURIComponent(instance.correlationId)}`}>Execution of flow ${instance.flow} (step ${instance.stepId})</a>
              </li>`,
            )}
          </ul>`
    }
  </div>`;
}

function Results({ answer }) {
  const firing = answer.flows.filter((flow) => flow.fired > 0).length;
  return html`<section aria-labelledby="results-heading" class="try-results">
    <h2 id="results-heading">Dry run of <code>${answer.event.pack}.${answer.event.name}</code></h2>
    ${answer.published ? html`<${Published} published=${answer.published} />` : null}
    <p>${
      answer.flows.length === 0
        ? 'No flow is loaded, so nothing would fire. Flows come from the engine’s flows directory (see Flows).'
        : `${answer.fired} step(s) would fire, in ${firing} of ${answer.flows.length} flow(s).`
    }</p>
    ${answer.flows.map(
      (flow) => html`<section key=${flow.file} class="try-flow" data-flow=${flow.flow} aria-labelledby=${`try-${flow.file}`}>
        <h3 id=${`try-${flow.file}`}>Flow ${flow.flow} <small>(${flow.file}, version ${flow.version}): ${flow.fired > 0 ? `${flow.fired} step(s) fire` : 'nothing fires'}</small></h3>
        <ol>${flow.steps.map((step) => html`<${Step} key=${step.stepId} step=${step} />`)}</ol>
      </section>`,
    )}
  </section>`;
}

function TryPage() {
  const [samples, setSamples] = useState([]);
  const [chosen, setChosen] = useState('');
  const [text, setText] = useState('');
  const [answer, setAnswer] = useState(undefined);
  const [problem, setProblem] = useState(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    fetch('/api/flows/samples', { headers: { Accept: 'application/json' } })
      .then((response) => response.json())
      .then(({ samples: loaded }) => {
        setSamples(loaded);
        if (loaded[0]) {
          setChosen(loaded[0].id);
          setText(json(loaded[0].event));
        }
      })
      .catch((error) => setProblem(`Could not load the samples: ${error.message}`));
  }, []);

  const sample = samples.find((candidate) => candidate.id === chosen);

  async function run(publish) {
    setProblem(undefined);
    let event;
    try {
      event = JSON.parse(text);
    } catch (error) {
      setProblem(`The event is not JSON: ${error.message}`);
      return;
    }
    if (publish && !window.confirm(`Publish ${event.pack}.${event.name} on the bus for real? The engine runs the flows it fires, and packs carry out their commands.`)) {
      return;
    }
    setBusy(true);
    try {
      setAnswer(await postJson('/api/flows/test', publish ? { event, publish: true } : { event }));
    } catch (error) {
      setAnswer(undefined);
      setProblem(error.message);
    } finally {
      setBusy(false);
    }
  }

  return html`<form class="try-form" onSubmit=${(submit) => { submit.preventDefault(); run(false); }}>
      <div class="try-sample">
        <label for="try-sample">Sample event</label>
        <select id="try-sample" value=${chosen} onChange=${(change) => setChosen(change.currentTarget.value)} aria-describedby="try-sample-description">
          ${samples.map((candidate) => html`<option key=${candidate.id} value=${candidate.id}>${candidate.title}</option>`)}
        </select>
        <button type="button" disabled=${!sample} onClick=${() => sample && setText(json(sample.event))}>Use this sample</button>
      </div>
      <p id="try-sample-description" class="hint">${sample?.description ?? ''}</p>
      <label for="try-event">Event (JSON: an envelope, or only <code>pack</code>, <code>name</code> and <code>payload</code>)</label>
      <textarea id="try-event" rows="14" spellcheck="false" value=${text} onInput=${(input) => setText(input.currentTarget.value)}></textarea>
      <div class="try-actions">
        <button type="submit" disabled=${busy}>Dry run</button>
        <button type="button" disabled=${busy} onClick=${() => run(true)}>Publish for real…</button>
      </div>
    </form>
    ${problem ? html`<p role="alert">${problem}</p>` : null}
    <div aria-live="polite">${answer ? html`<${Results} answer=${answer} />` : null}</div>`;
}

const target = document.getElementById('try');
target.replaceChildren();
render(html`<${TryPage} />`, target);
