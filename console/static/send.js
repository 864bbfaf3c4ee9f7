// The Send page: pick a pack and one of the commands it announced (GET /api/commands), fill a form built
// from the command's JSON Schema (or write raw JSON), send it (POST /api/commands/<pack>/<Command>?wait=)
// and show the result event when it comes. Preact + htm from /vendor/: no build step, no inline script.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';
import { useEffect, useState } from '/vendor/preact-hooks.mjs';

const html = htm.bind(h);
const DEFAULT_WAIT_SECONDS = 30;
const MAX_WAIT_SECONDS = 60;

/** What kind of control a property of the schema gets; nested objects and arrays are JSON text. */
function kindOf(schema) {
  if (Array.isArray(schema.enum)) return 'enum';
  const types = Array.isArray(schema.type) ? schema.type.filter((type) => type !== 'null') : [schema.type];
  const [type] = types;
  if (types.length === 1 && ['string', 'number', 'integer', 'boolean'].includes(type)) return type;
  return 'json';
}

/** The form's fields: one per property of an object schema, in the schema's order. */
function fieldsOf(schema) {
  const properties = schema && typeof schema.properties === 'object' ? schema.properties : {};
  const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
  return Object.entries(properties).map(([name, property]) => {
    const fieldSchema = property && typeof property === 'object' ? property : {};
    return { name, schema: fieldSchema, required: required.has(name), kind: kindOf(fieldSchema) };
  });
}

/**
 * The payload the form describes. An empty field is left out (the schema then says whether it was
 * required); a JSON field that does not parse is reported here, since no schema could name it better.
 */
function payloadFromForm(fields, values) {
  const payload = {};
  for (const field of fields) {
    const value = values[field.name] ?? '';
    if (value === '') continue;
    if (field.kind === 'string') payload[field.name] = value;
    else if (field.kind === 'number' || field.kind === 'integer') payload[field.name] = Number(value);
    else if (field.kind === 'boolean') payload[field.name] = value === 'true';
    else if (field.kind === 'enum') payload[field.name] = field.schema.enum[Number(value)];
    else {
      try {
        payload[field.name] = JSON.parse(value);
      } catch (error) {
        throw new Error(`${field.name} is not valid JSON: ${error.message}`);
      }
    }
  }
  return payload;
}

const fieldId = (name) => `field-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function Field({ field, value, invalid, onInput }) {
  const id = fieldId(field.name);
  const hintId = `${id}-hint`;
  const hint = [field.schema.description, field.kind === 'json' ? 'JSON' : undefined, field.schema.format]
    .filter(Boolean)
    .join(' · ');
  const common = {
    id,
    name: field.name,
    'aria-required': field.required ? 'true' : undefined,
    'aria-invalid': invalid ? 'true' : undefined,
    'aria-describedby': hint ? hintId : undefined,
    onInput: (event) => onInput(field.name, event.currentTarget.value),
  };
  let control;
  if (field.kind === 'enum') {
    control = html`<select ...${common} value=${value} onChange=${common.onInput}>
      <option value="">${field.required ? 'choose one' : 'not set'}</option>
      ${field.schema.enum.map((option, index) => html`<option value=${String(index)}>${JSON.stringify(option)}</option>`)}
    </select>`;
  } else if (field.kind === 'boolean') {
    control = html`<select ...${common} value=${value} onChange=${common.onInput}>
      <option value="">not set</option>
      <option value="true">true</option>
      <option value="false">false</option>
    </select>`;
  } else if (field.kind === 'number' || field.kind === 'integer') {
    control = html`<input ...${common} type="number" step=${field.kind === 'integer' ? '1' : 'any'} value=${value} />`;
  } else if (field.kind === 'json') {
    control = html`<textarea ...${common} rows="4" spellcheck="false" value=${value}></textarea>`;
  } else {
    control = html`<input ...${common} type="text" value=${value} />`;
  }
  return html`<div class="field">
    <label for=${id}>
      <code>${field.name}</code>
      ${field.required ? html` <span class="required">(required)</span>` : html` <span class="optional">(optional)</span>`}
    </label>
    ${control}
    ${hint ? html`<small id=${hintId}>${hint}</small>` : null}
  </div>`;
}

/** The field a 422 invalid_input names (`payload.channelId must be string`), if one. */
function fieldNamed(message) {
  const match = /payload\.([A-Za-z0-9_$-]+)/.exec(message ?? '') ?? /the field "([^"]+)"/.exec(message ?? '');
  return match?.[1];
}

function Outcome({ outcome, pack }) {
  if (!outcome) return null;
  const { status, answer, waitSeconds } = outcome;
  const ids = answer.id
    ? html`<p>Command id <code>${answer.id}</code>.${' '}
        <a href=${`/live?correlationId=${encodeURIComponent(answer.correlationId ?? answer.id)}`}>Follow it on Live</a>.</p>`
    : null;
  const event = answer.result
    ? html`<details open>
        <summary>The result event, <code>${answer.result.pack}.${answer.result.name}</code></summary>
        <pre>${JSON.stringify(answer.result, null, 2)}</pre>
      </details>`
    : null;
  if (status === 200) {
    return html`<div class="outcome outcome-success" data-outcome="success">
      <h2>Succeeded</h2>
      <p>The pack answered with <strong>${answer.result.name}</strong>.</p>
      ${ids}${event}
    </div>`;
  }
  if (status === 422 && answer.error?.code === 'command_failed') {
    return html`<div class="outcome outcome-failure" data-outcome="failure">
      <h2>Failed</h2>
      <p>The pack answered with <strong>${answer.result.name}</strong>: error code
        <code>${answer.errorCode ?? 'none given'}</code>, because: ${answer.reason ?? 'no reason given'}</p>
      ${ids}${event}
    </div>`;
  }
  if (status === 504) {
    return html`<div class="outcome outcome-waiting" data-outcome="no-result">
      <h2>No result yet</h2>
      <p>The command was published, but no result came within ${waitSeconds} s. It may still run: is an instance of the ${pack} pack running?</p>
      ${ids}
    </div>`;
  }
  if (status === 202) {
    return html`<div class="outcome" data-outcome="sent"><h2>Sent</h2>${ids}</div>`;
  }
  return html`<div class="outcome outcome-failure" data-outcome="refused" role="alert">
    <h2>Not sent</h2>
    <p>${answer.error?.message ?? `the console answered ${status}`} (<code>${answer.error?.code ?? status}</code>)</p>
  </div>`;
}

function CommandForm({ pack, command }) {
  const fields = fieldsOf(command.inputSchema);
  const [values, setValues] = useState({});
  // A schema without properties has nothing to build a form from: its payload is written as JSON.
  const [raw, setRaw] = useState(fields.length === 0);
  const [rawText, setRawText] = useState('{}');
  const [waitSeconds, setWaitSeconds] = useState(String(DEFAULT_WAIT_SECONDS));
  const [sending, setSending] = useState(false);
  const [outcome, setOutcome] = useState(undefined);
  const [problem, setProblem] = useState(undefined);

  const onInput = (name, value) => setValues((current) => ({ ...current, [name]: value }));
  const invalidField = outcome?.answer.error?.code === 'invalid_input' ? fieldNamed(outcome.answer.error.message) : undefined;

  function toggleRaw(event) {
    const checked = event.currentTarget.checked;
    if (checked) {
      try {
        setRawText(JSON.stringify(payloadFromForm(fields, values), null, 2));
      } catch {
        // Keep what was typed before; the form's problem is shown when sending from the form.
      }
    }
    setRaw(checked);
  }

  async function submit(event) {
    event.preventDefault();
    setProblem(undefined);
    let payload;
    try {
      payload = raw ? JSON.parse(rawText) : payloadFromForm(fields, values);
    } catch (error) {
      setProblem(raw ? `The payload is not valid JSON: ${error.message}` : error.message);
      return;
    }
    const seconds = Math.min(MAX_WAIT_SECONDS, Math.max(1, Number(waitSeconds) || DEFAULT_WAIT_SECONDS));
    setSending(true);
    setOutcome(undefined);
    try {
      const response = await fetch(
        `/api/commands/${encodeURIComponent(pack.pack)}/${encodeURIComponent(command.name)}?wait=${seconds}`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify(payload),
        },
      );
      setOutcome({ status: response.status, answer: await response.json(), waitSeconds: seconds });
    } catch (error) {
      setOutcome({ status: 0, answer: { error: { code: 'network', message: `the console did not answer: ${error.message}` } } });
    } finally {
      setSending(false);
    }
  }

  return html`<form onSubmit=${submit} novalidate>
    <fieldset disabled=${sending}>
      <legend>Payload of <code>${pack.pack}.${command.name}</code></legend>
      ${fields.length > 0
        ? html`<div class="field field-inline">
            <input type="checkbox" id="raw-json" checked=${raw} onChange=${toggleRaw} />
            <label for="raw-json">Write the payload as raw JSON</label>
          </div>`
        : html`<p>This command's schema lists no fields: write its payload as JSON.</p>`}
      ${raw
        ? html`<div class="field">
            <label for="raw-payload">Payload (JSON)</label>
            <textarea id="raw-payload" rows="8" spellcheck="false" value=${rawText}
              aria-invalid=${outcome?.answer.error?.code === 'invalid_input' ? 'true' : undefined}
              onInput=${(event) => setRawText(event.currentTarget.value)}></textarea>
          </div>`
        : fields.map(
            (field) => html`<${Field} key=${field.name} field=${field} value=${values[field.name] ?? ''}
              invalid=${invalidField === field.name} onInput=${onInput} />`,
          )}
      <div class="field">
        <label for="wait-seconds">Wait for the result up to (seconds, at most ${MAX_WAIT_SECONDS})</label>
        <input id="wait-seconds" type="number" min="1" max=${MAX_WAIT_SECONDS} step="1" value=${waitSeconds}
          onInput=${(event) => setWaitSeconds(event.currentTarget.value)} />
      </div>
      <button type="submit">Send ${command.name}</button>
    </fieldset>
    ${problem ? html`<p role="alert">${problem}</p>` : null}
    <div aria-live="polite" class="outcome-area">
      ${sending ? html`<p role="status">Sent; waiting up to ${waitSeconds} s for the result…</p>` : null}
      <${Outcome} outcome=${outcome} pack=${pack.pack} />
    </div>
  </form>`;
}

function instancesNote(pack) {
  if (pack.runningInstances > 0) {
    return `${pack.runningInstances} instance${pack.runningInstances === 1 ? '' : 's'} running (version ${pack.version ?? 'unknown'}).`;
  }
  return 'No instance of this pack is running now: a command sent waits in its queue until one starts.';
}

function SendPage({ catalog, reload }) {
  const query = new URLSearchParams(window.location.search);
  const [packName, setPackName] = useState(query.get('pack') ?? catalog[0]?.pack ?? '');
  const pack = catalog.find((each) => each.pack === packName);
  const [commandName, setCommandName] = useState(query.get('command') ?? '');
  const command = pack?.commands.find((each) => each.name === commandName) ?? pack?.commands[0];

  useEffect(() => {
    const url = new URL(window.location.href);
    if (pack) url.searchParams.set('pack', pack.pack);
    if (command) url.searchParams.set('command', command.name);
    window.history.replaceState(null, '', url);
  }, [pack?.pack, command?.name]);

  if (catalog.length === 0) {
    return html`<p>No pack has announced its commands to this console yet. A pack announces them in its PackStarted event when it starts; start one (or restart it, if it started before the console) and <button type="button" onClick=${reload}>look again</button>.</p>`;
  }
  return html`
    <div class="pickers">
      <div class="field">
        <label for="pack">Pack</label>
        <select id="pack" value=${pack?.pack ?? ''} onChange=${(event) => {
          setPackName(event.currentTarget.value);
          setCommandName('');
        }}>
          ${catalog.map((each) => html`<option value=${each.pack}>${each.pack}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="command">Command</label>
        <select id="command" value=${command?.name ?? ''} onChange=${(event) => setCommandName(event.currentTarget.value)}>
          ${(pack?.commands ?? []).map((each) => html`<option value=${each.name}>${each.name}</option>`)}
        </select>
      </div>
      <button type="button" onClick=${reload}>Reload the packs</button>
    </div>
    ${pack ? html`<p class="pack-note">${instancesNote(pack)} Announced <time datetime=${pack.announcedAt}>${new Date(pack.announcedAt).toLocaleString()}</time>.</p>` : null}
    ${
      command
        ? html`<section aria-labelledby="command-heading">
            <h2 id="command-heading"><code>${pack.pack}.${command.name}</code></h2>
            <p class="description">${command.description ?? 'No description announced.'}</p>
            <p>It answers with <code>${command.events[0] ?? '?'}</code> when it succeeds and <code>${command.events[1] ?? '?'}</code> when it fails.</p>
            <${CommandForm} key=${`${pack.pack}.${command.name}.${pack.announcedAt}`} pack=${pack} command=${command} />
          </section>`
        : html`<p>The ${pack?.pack} pack announced no command.</p>`
    }`;
}

const target = document.getElementById('send');

async function load() {
  try {
    const response = await fetch('/api/commands', { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET /api/commands answered ${response.status}`);
    const { packs } = await response.json();
    // A new key starts the page afresh with the new list (the choices stay in the address).
    render(html`<${SendPage} key=${Date.now()} catalog=${packs} reload=${load} />`, target);
  } catch (error) {
    render(html`<p role="alert">Could not load the packs' commands: ${error.message}</p>`, target);
  }
}

target.replaceChildren();
await load();
