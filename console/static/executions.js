// The Executions page: the list from GET /api/executions (filters, "Older" paging), and one flow instance
// as a timeline from GET /api/executions/<correlationId> (?instance=<correlationId>), with Run again
// (POST /api/executions/<id>/retry). Preact + htm from /vendor/: no build step, no inline script.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';
import { useEffect, useRef, useState } from '/vendor/preact-hooks.mjs';

const html = htm.bind(h);
/** While a step of the instance waits for its result, the timeline asks again this often. */
const PENDING_REFRESH_MS = 1000;
const STATUSES = [
  ['pending', 'pending'],
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['timed_out', 'timed out'],
];
const STATUS_LABELS = Object.fromEntries(STATUSES);
const FILTERS = ['flow', 'status', 'since'];

/** An API answer that is not 2xx, with the reason the console gave. */
class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    throw new ApiError(body?.error?.message ?? `${path} answered ${response.status}`, response.status, body?.error?.code);
  }
  return body;
}

function Time({ iso }) {
  if (!iso) return html`<span>not yet</span>`;
  return html`<time datetime=${iso}>${new Date(iso).toLocaleString()}</time>`;
}

function duration(ms) {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The status in words (the colour only repeats it). */
function Status({ status }) {
  return html`<span class=${`status status-${status}`}>${STATUS_LABELS[status] ?? status}</span>`;
}

function shortId(id) {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

function instanceHref(correlationId, executionId) {
  const href = `/executions?instance=${encodeURIComponent(correlationId)}`;
  return executionId ? `${href}#execution-${executionId}` : href;
}

// ---------------------------------------------------------------------------------------------- list

function filterFromQuery(search) {
  const query = new URLSearchParams(search);
  return Object.fromEntries([...FILTERS, 'limit'].map((key) => [key, query.get(key)?.trim() ?? '']));
}

function describeFilter(filter) {
  const given = [];
  if (filter.flow) given.push(`of flow ${filter.flow}`);
  if (filter.status) given.push(STATUS_LABELS[filter.status] ?? filter.status);
  if (filter.since) given.push(`since ${filter.since}`);
  return given.length === 0 ? 'all executions' : `executions ${given.join(', ')}`;
}

// A plain GET form: applying the filters loads /executions?flow=…&status=…&since=…, so the address
// keeps them (reload, back, bookmark). The API takes an empty value as no filter.
function FilterForm({ filter }) {
  return html`<form class="filters" method="get" action="/executions" role="search" aria-label="Filter executions">
    <div class="field">
      <label for="filter-flow">Flow</label>
      <input id="filter-flow" name="flow" value=${filter.flow} placeholder="any flow" autocomplete="off" />
    </div>
    <div class="field">
      <label for="filter-status">Status</label>
      <select id="filter-status" name="status" value=${filter.status}>
        <option value="">any status</option>
        ${STATUSES.map(([value, label]) => html`<option value=${value} selected=${filter.status === value}>${label}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="filter-since">Since</label>
      <input id="filter-since" name="since" value=${filter.since} aria-describedby="filter-since-hint" autocomplete="off" />
      <small id="filter-since-hint">15m, 2h, 7d, or a time like 2024-05-01T12:00:00Z</small>
    </div>
    <div class="field field-buttons">
      <button type="submit">Apply filters</button>
      <a href="/executions">Clear</a>
    </div>
  </form>`;
}

function ExecutionRows({ executions }) {
  return executions.map(
    (execution) => html`<tr key=${execution.id} data-execution=${execution.id}>
      <td><${Time} iso=${execution.startedAt} /></td>
      <td>
        <${Status} status=${execution.status} />
        ${execution.retriedBy ? html`<br /><small>run again</small>` : ''}
        ${execution.retryOf ? html`<br /><small>a run again</small>` : ''}
      </td>
      <td>${execution.flowName} · <code>${execution.stepId}</code></td>
      <td><code>${execution.command.pack}.${execution.command.name}</code></td>
      <td class="number">${duration(execution.durationMs)}</td>
      <td>
        <a href=${instanceHref(execution.correlationId, execution.id)} aria-label=${`Open instance ${execution.correlationId}`}
          ><code>${shortId(execution.correlationId)}</code></a
        >
      </td>
      <td>${execution.error ?? ''}</td>
    </tr>`,
  );
}

function ExecutionList({ filter }) {
  const [state, setState] = useState({ executions: [], nextCursor: undefined, loading: true, error: undefined });

  async function load(cursor) {
    setState((current) => ({ ...current, loading: true, error: undefined }));
    const query = new URLSearchParams();
    for (const key of FILTERS) if (filter[key]) query.set(key, filter[key]);
    // The page size is not in the form (50 by default); /executions?limit=N keeps its own.
    if (filter.limit) query.set('limit', filter.limit);
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api(`/api/executions?${query}`);
      setState((current) => ({
        executions: cursor ? [...current.executions, ...page.executions] : page.executions,
        nextCursor: page.nextCursor,
        loading: false,
        error: undefined,
      }));
    } catch (error) {
      setState((current) => ({ ...current, loading: false, error }));
    }
  }

  useEffect(() => {
    load(undefined);
  }, []);

  const { executions, nextCursor, loading, error } = state;
  const filtered = FILTERS.some((key) => filter[key]);
  let body;
  if (error && executions.length === 0) {
    body = html`<p role="alert">Could not load the executions: ${error.message}</p>`;
  } else if (executions.length === 0) {
    body = loading
      ? html`<p>Loading…</p>`
      : html`<p class="empty">
          ${filtered
            ? 'No execution matches these filters. Widen them, or clear them to see every execution kept.'
            : 'No flow step has fired yet. An execution is recorded each time an event fires a step of a loaded flow: send one from Try, or wait for a pack to publish one.'}
        </p>`;
  } else {
    body = html`<div class="table-scroll">
        <table class="executions-table">
          <caption>
            ${describeFilter(filter)}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Flow · step</th>
              <th scope="col">Command</th>
              <th scope="col">Duration</th>
              <th scope="col">Instance</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            <${ExecutionRows} executions=${executions} />
          </tbody>
        </table>
      </div>
      ${error ? html`<p role="alert">Could not load older executions: ${error.message}</p>` : ''}
      <p class="paging" aria-live="polite">
        <span>Showing ${executions.length} execution${executions.length === 1 ? '' : 's'}${nextCursor ? '' : ', the oldest kept included'}.</span>
        ${nextCursor
          ? html` <button type="button" onClick=${() => load(nextCursor)} disabled=${loading}>
              ${loading ? 'Loading…' : 'Older'}
            </button>`
          : ''}
      </p>`;
  }
  return html`<${FilterForm} filter=${filter} />${body}`;
}

// ------------------------------------------------------------------------------------------ timeline

function Json({ value, label }) {
  return html`<pre class="json" tabindex="0" aria-label=${label}><code>${JSON.stringify(value, null, 2)}</code></pre>`;
}

function Envelope({ envelope, summary }) {
  return html`<details>
    <summary>${summary}</summary>
    <${Json} value=${envelope} label=${`${summary} as JSON`} />
  </details>`;
}

/** The inline confirmation of Run again; the second button is the one that publishes. */
function RunAgain({ execution, onDone }) {
  const [stage, setStage] = useState('idle');
  const [error, setError] = useState(undefined);
  const confirmRef = useRef(undefined);
  useEffect(() => {
    if (stage === 'confirm') confirmRef.current?.focus();
  }, [stage]);

  async function run() {
    setStage('running');
    setError(undefined);
    try {
      const { execution: retry } = await api(`/api/executions/${encodeURIComponent(execution.id)}/retry`, {
        method: 'POST',
      });
      setStage('idle');
      onDone(retry);
    } catch (failure) {
      setError(failure);
      setStage('idle');
      // A 409 says it ran again meanwhile (another tab): show it as it is now.
      if (failure.status === 409) onDone(undefined);
    }
  }

  const command = `${execution.command.pack}.${execution.command.name}`;
  return html`<div class="run-again">
    ${stage === 'idle'
      ? html`<button type="button" onClick=${() => setStage('confirm')}>Run again</button>`
      : html`<div role="group" aria-label="Confirm Run again" class="confirm">
          <p>
            Send <code>${command}</code> again, with the same payload and a new command id? The pack runs it as a new
            command, and its result continues this instance.
          </p>
          <button type="button" ref=${confirmRef} onClick=${run} disabled=${stage === 'running'}>
            ${stage === 'running' ? 'Sending…' : 'Yes, run it again'}
          </button>
          <button type="button" onClick=${() => setStage('idle')} disabled=${stage === 'running'}>Cancel</button>
        </div>`}
    ${error ? html`<p role="alert">Not run again: ${error.message}</p>` : ''}
  </div>`;
}

function Links({ execution, correlationId }) {
  const link = (label, id) =>
    html`<p class="link">${label} <a href=${instanceHref(correlationId, id)}><code>${id}</code></a></p>`;
  return html`${execution.retriedBy ? link('Run again as', execution.retriedBy) : ''}
  ${execution.retryOf ? link('Run again of', execution.retryOf) : ''}`;
}

function Step({ execution, correlationId, firstTrigger, onRunAgain }) {
  const command = `${execution.command.pack}.${execution.command.name}`;
  const result = execution.resultEvent;
  const firedBy = execution.triggerEvent;
  return html`<li id=${`execution-${execution.id}`} class=${`step step-${execution.status}`} data-execution=${execution.id} tabindex="-1">
    <h4>
      Step <code>${execution.stepId}</code>: <code>${command}</code> — <${Status} status=${execution.status} />
    </h4>
    <dl class="facts">
      <dt>Execution</dt>
      <dd><code>${execution.id}</code></dd>
      <dt>Fired by</dt>
      <dd>
        <code>${firedBy.pack}.${firedBy.name}</code>
        ${firstTrigger && firedBy.id === firstTrigger.id ? ' (the trigger event)' : ' (a result in this instance)'}
      </dd>
      <dt>Started</dt>
      <dd><${Time} iso=${execution.startedAt} /></dd>
      <dt>Duration</dt>
      <dd>${execution.durationMs === undefined ? 'waiting for its result' : duration(execution.durationMs)}</dd>
      ${execution.error ? html`<dt>Error</dt><dd class="error">${execution.error}</dd>` : ''}
    </dl>
    <${Links} execution=${execution} correlationId=${correlationId} />
    ${execution.context
      ? html`<h5>Context it set</h5>
          <${Json} value=${execution.context} label=${`Context set by step ${execution.stepId}`} />`
      : html`<p class="none">This step sets no context.</p>`}
    <h5>Command</h5>
    <${Json} value=${execution.command.payload} label=${`Payload of ${command}`} />
    <${Envelope} envelope=${execution.command} summary="The command's whole envelope" />
    <h5>Result</h5>
    ${result
      ? html`<p><code>${result.pack}.${result.name}</code> at <${Time} iso=${result.createdAt} /></p>
          <${Json} value=${result.payload} label=${`Payload of ${result.pack}.${result.name}`} />
          <${Envelope} envelope=${result} summary="The result's whole envelope" />`
      : html`<p class="none">
          ${execution.status === 'pending'
            ? 'None yet: the pack has not answered.'
            : execution.status === 'timed_out'
              ? 'None: no result came within the execution timeout.'
              : 'None: the command was never sent.'}
        </p>`}
    ${execution.canRunAgain ? html`<${RunAgain} execution=${execution} onDone=${onRunAgain} />` : ''}
  </li>`;
}

/** What became of the execution this page just ran again, as the timeline now shows it. */
function ranAgain(retryId, executions) {
  const retry = executions.find((execution) => execution.id === retryId);
  const status = retry ? STATUS_LABELS[retry.status] : 'recorded';
  return `Run again as ${retryId}: ${retry?.status === 'pending' ? 'sent, waiting for its result' : status}.`;
}

function Timeline({ correlationId }) {
  const [state, setState] = useState({ timeline: undefined, error: undefined });
  const [notice, setNotice] = useState(undefined);
  /** Loads again now (after Run again), and goes on asking while a step is pending. */
  const refresh = useRef(() => {});

  async function load() {
    try {
      const timeline = await api(`/api/executions/${encodeURIComponent(correlationId)}`);
      setState({ timeline, error: undefined });
      return timeline;
    } catch (error) {
      setState((current) => ({ ...current, error }));
      return undefined;
    }
  }

  useEffect(() => {
    let timer;
    let stopped = false;
    // Asks again while a step waits for its result, so a status appears once its result arrives.
    const tick = async () => {
      const timeline = await load();
      if (stopped) return;
      if (timeline?.executions.some((execution) => execution.status === 'pending')) {
        timer = setTimeout(tick, PENDING_REFRESH_MS);
      } else timer = undefined;
    };
    // Opened from the list at one execution (#execution-<id>): it was not drawn yet when the browser looked.
    tick().then(() => {
      const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
      target?.scrollIntoView();
    });
    refresh.current = () => {
      clearTimeout(timer);
      tick();
    };
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [correlationId]);

  const onRunAgain = (retry) => {
    if (retry) setNotice(retry.id);
    refresh.current();
  };

  const { timeline, error } = state;
  const back = html`<p><a href="/executions">← All executions</a></p>`;
  if (!timeline) {
    return html`${back}${error ? html`<p role="alert">Could not load flow instance ${correlationId}: ${error.message}</p>` : html`<p>Loading…</p>`}`;
  }
  const { instance, trigger, executions } = timeline;
  return html`${back}
    <section aria-labelledby="instance-heading">
      <h2 id="instance-heading">Flow instance <code>${correlationId}</code></h2>
      ${error ? html`<p role="alert">Could not refresh: ${error.message}</p>` : ''}
      <p class="notice" role="status">${notice ? ranAgain(notice, executions) : ''}</p>
      ${instance
        ? html`<dl class="facts">
              <dt>Flow</dt>
              <dd>${instance.flowName} <small>(version ${instance.flowVersion})</small></dd>
              <dt>Started</dt>
              <dd><${Time} iso=${instance.createdAt} /></dd>
              <dt>Steps fired</dt>
              <dd>${instance.stepsDone.length ? instance.stepsDone.map((step) => html`<code>${step}</code> `) : 'none'}</dd>
            </dl>
            <h3>Context</h3>
            <p>What the steps accumulated, as the next step of this instance would see it.</p>
            <${Json} value=${instance.context} label="The instance's context" />`
        : html`<p class="none">Retention removed this instance's record; its executions below are still kept.</p>`}
      <h3>Timeline</h3>
      <ol class="timeline">
        ${trigger
          ? html`<li class="trigger">
              <h4>Trigger event: <code>${trigger.pack}.${trigger.name}</code></h4>
              <p>At <${Time} iso=${trigger.createdAt} />, event <code>${trigger.id}</code>.</p>
              <${Json} value=${trigger.payload} label="Payload of the trigger event" />
              <${Envelope} envelope=${trigger} summary="The trigger's whole envelope" />
            </li>`
          : ''}
        ${executions.map(
          (execution) =>
            html`<${Step}
              key=${execution.id}
              execution=${execution}
              correlationId=${correlationId}
              firstTrigger=${trigger}
              onRunAgain=${onRunAgain}
            />`,
        )}
      </ol>
      ${executions.length === 0 ? html`<p class="empty">No execution of this instance is kept any more.</p>` : ''}
    </section>`;
}

// ---------------------------------------------------------------------------------------------- page

const target = document.getElementById('executions');
const instance = new URLSearchParams(location.search).get('instance');
target.replaceChildren();
render(
  instance ? html`<${Timeline} correlationId=${instance} />` : html`<${ExecutionList} filter=${filterFromQuery(location.search)} />`,
  target,
);
