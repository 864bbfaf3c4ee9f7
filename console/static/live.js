// The Live page: every event and command passing on the bus, pushed by GET /api/events (Server-Sent
// Events, read with EventSource), newest on top. Preact + htm from /vendor/: no build step, no inline script.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';
import { useEffect, useRef, useState } from '/vendor/preact-hooks.mjs';

const html = htm.bind(h);
/** Rows the page keeps; older ones go, so a busy bus cannot fill the tab's memory. */
const MAX_ROWS = 500;
/** Typing in a filter reconnects once the typing stops, not on every key. */
const FILTER_DELAY_MS = 400;
/** Messages are drawn in batches: at hundreds a second, one render per message would freeze the tab. */
const BATCH_MS = 100;
/** The width where live.css puts the envelope below the list instead of beside it. */
const NARROW = window.matchMedia('(max-width: 50rem)');
const FILTERS = ['pack', 'name', 'correlationId', 'kind'];
const FILTER_LABELS = { pack: 'pack', name: 'name', correlationId: 'correlation id', kind: 'kind' };

function filterFromQuery(search) {
  const query = new URLSearchParams(search);
  return Object.fromEntries(FILTERS.map((key) => [key, query.get(key) ?? '']));
}

/** The query GET /api/events takes: only the filters given. */
function queryOf(filter) {
  const query = new URLSearchParams();
  for (const key of FILTERS) if (filter[key].trim()) query.set(key, filter[key].trim());
  return query.toString();
}

/** The same test the server applies, for rows received before the filter changed. */
function matches(filter, { envelope }) {
  return (
    (!filter.pack.trim() || envelope.pack === filter.pack.trim()) &&
    (!filter.name.trim() || envelope.name === filter.name.trim()) &&
    (!filter.correlationId.trim() || envelope.correlationId === filter.correlationId.trim()) &&
    (!filter.kind || envelope.kind === filter.kind)
  );
}

function describeFilter(filter) {
  const given = FILTERS.filter((key) => filter[key].trim()).map(
    (key) => `${FILTER_LABELS[key]} = ${filter[key].trim()}`,
  );
  return given.length === 0 ? 'every message' : `messages with ${given.join(' and ')}`;
}

function timeOf(iso) {
  const date = new Date(iso);
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** The reason the console gave for refusing the stream (EventSource itself cannot read an error body). */
async function refusalReason(url) {
  const controller = new AbortController();
  try {
    const response = await fetch(url, { headers: { Accept: 'application/json' }, signal: controller.signal });
    if (response.ok) return undefined;
    const body = await response.json().catch(() => undefined);
    return body?.error?.message ?? `the console answered ${response.status}`;
  } catch {
    return undefined;
  } finally {
    controller.abort();
  }
}

function Filters({ filter, onChange, onApply }) {
  const field = (key, label, hint) => html`<div class="live-field">
    <label for=${`filter-${key}`}>${label}</label>
    <input
      id=${`filter-${key}`}
      name=${key}
      type="text"
      autocomplete="off"
      spellcheck="false"
      placeholder=${hint}
      value=${filter[key]}
      onInput=${(event) => onChange({ ...filter, [key]: event.currentTarget.value })}
    />
  </div>`;
  return html`<form
    class="live-filters"
    role="search"
    aria-label="Filter the live messages"
    onSubmit=${(event) => {
      event.preventDefault();
      onApply();
    }}
  >
    ${field('pack', 'Pack', 'slack')} ${field('name', 'Name', 'ReceivedMessage')}
    ${field('correlationId', 'Correlation id', 'any id')}
    <div class="live-field">
      <label for="filter-kind">Kind</label>
      <select
        id="filter-kind"
        name="kind"
        value=${filter.kind}
        onChange=${(event) => onChange({ ...filter, kind: event.currentTarget.value }, true)}
      >
        <option value="">Events and commands</option>
        <option value="event">Events only</option>
        <option value="command">Commands only</option>
      </select>
    </div>
    <div class="live-field live-field-buttons">
      <button type="submit">Apply</button>
      <button
        type="button"
        onClick=${() => onChange(Object.fromEntries(FILTERS.map((key) => [key, ''])), true)}
      >
        Clear filters
      </button>
    </div>
  </form>`;
}

function MessageTable({ rows, selectedKey, onSelect, filterText }) {
  if (rows.length === 0) {
    return html`<p class="live-empty">
      Nothing has passed yet matching ${filterText}. Events appear here as packs publish them (a chat message, a
      CI webhook, a pack starting), commands as flows fire or as someone sends one (the Send page,
      <code>switchboard send</code>).
    </p>`;
  }
  return html`<div class="table-scroll">
    <table class="live-table">
      <caption>
        ${rows.length} ${rows.length === 1 ? 'message' : 'messages'}, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Kind</th>
          <th scope="col">Pack.name</th>
          <th scope="col">Correlation id</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((row) => {
          const { envelope } = row.message;
          const selected = row.key === selectedKey;
          return html`<tr
            key=${row.key}
            data-id=${envelope.id}
            data-pack=${envelope.pack}
            class=${selected ? 'live-row selected' : 'live-row'}
            onClick=${() => onSelect(row)}
          >
            <td><time datetime=${row.message.seenAt}>${timeOf(row.message.seenAt)}</time></td>
            <td class=${`kind kind-${envelope.kind}`}>${envelope.kind}</td>
            <td>
              <button type="button" class="live-open" aria-pressed=${selected ? 'true' : 'false'}>
                ${envelope.pack}.${envelope.name}
              </button>
            </td>
            <td>${envelope.correlationId ? html`<code>${envelope.correlationId}</code>` : html`<span class="none">none</span>`}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function Detail({ message, onFollow }) {
  const panel = useRef(undefined);
  // On a phone the panel is below the list: bring it into view, or the click would seem to do nothing.
  useEffect(() => {
    if (panel.current && NARROW.matches) panel.current.scrollIntoView();
  }, [message]);
  if (!message) {
    return html`<p>
      Choose a message in the list (click it, or Tab to it and press Enter) to see its whole envelope here.
    </p>`;
  }
  const { envelope, routingKey, seenAt, sentBy } = message;
  return html`<div ref=${panel}>
    <dl class="live-facts">
      <dt>Message</dt>
      <dd>${envelope.kind} <code>${envelope.pack}.${envelope.name}</code></dd>
      <dt>Routing key</dt>
      <dd><code>${routingKey}</code></dd>
      <dt>Seen by the console</dt>
      <dd><time datetime=${seenAt}>${new Date(seenAt).toLocaleString()}</time></dd>
      ${sentBy && html`<dt>Sent by</dt><dd data-sent-by><code>${sentBy}</code> (its API token's name, or the console)</dd>`}
    </dl>
    ${
      envelope.correlationId &&
      html`<p>
        <button type="button" onClick=${() => onFollow(envelope.correlationId)}>
          Show only this correlation id
        </button>
      </p>`
    }
    <pre class="live-envelope" tabindex="0" aria-label="The envelope as JSON"><code>${JSON.stringify(
      envelope,
      null,
      2,
    )}</code></pre>
  </div>`;
}

function connectionText(connection, filterText) {
  switch (connection.state) {
    case 'open':
      return `Connected: receiving ${filterText}.`;
    case 'reconnecting':
      return 'The stream broke; reconnecting…';
    case 'refused':
      return `The console refused the stream: ${connection.reason}`;
    default:
      return 'Connecting…';
  }
}

function LivePage() {
  const [filter, setFilter] = useState(() => filterFromQuery(location.search));
  const [applied, setApplied] = useState(filter);
  const [rows, setRows] = useState([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState({ rows: [], count: 0 });
  const [selected, setSelected] = useState(undefined);
  const [connection, setConnection] = useState({ state: 'connecting' });
  const [dropped, setDropped] = useState(0);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const nextKey = useRef(0);

  // Typing settles before the stream reconnects with the new filters.
  useEffect(() => {
    if (queryOf(filter) === queryOf(applied)) return undefined;
    const timer = setTimeout(() => setApplied(filter), FILTER_DELAY_MS);
    return () => clearTimeout(timer);
  }, [filter, applied]);

  // One EventSource per set of filters; changing them closes it and opens another.
  useEffect(() => {
    const query = queryOf(applied);
    history.replaceState(null, '', query ? `/live?${query}` : '/live');
    const url = query ? `/api/events?${query}` : '/api/events';
    const source = new EventSource(url);
    let batch = [];
    let timer;
    const flush = () => {
      timer = undefined;
      const arrived = batch.reverse();
      batch = [];
      if (pausedRef.current) {
        setHeld((previous) => ({
          rows: [...arrived, ...previous.rows].slice(0, MAX_ROWS),
          count: previous.count + arrived.length,
        }));
      } else setRows((previous) => [...arrived, ...previous].slice(0, MAX_ROWS));
    };
    setConnection({ state: 'connecting' });
    source.onopen = () => setConnection({ state: 'open' });
    source.onmessage = (event) => {
      batch.push({ key: nextKey.current++, message: JSON.parse(event.data) });
      timer ??= setTimeout(flush, BATCH_MS);
    };
    source.addEventListener('dropped', (event) => {
      setDropped((total) => total + JSON.parse(event.data).dropped);
    });
    source.onerror = async () => {
      if (source.readyState !== EventSource.CLOSED) {
        setConnection({ state: 'reconnecting' });
        return;
      }
      const reason = await refusalReason(url);
      setConnection({ state: 'refused', reason: reason ?? 'it did not answer with a stream' });
    };
    return () => {
      source.close();
      clearTimeout(timer);
    };
  }, [applied]);

  const changeFilter = (next, immediately = false) => {
    setFilter(next);
    if (immediately) setApplied(next);
  };
  const resume = () => {
    setRows((previous) => [...held.rows, ...previous].slice(0, MAX_ROWS));
    setHeld({ rows: [], count: 0 });
    setPaused(false);
  };
  const filterText = describeFilter(applied);
  const shown = rows.filter((row) => matches(applied, row.message));

  return html`
    <${Filters} filter=${filter} onChange=${changeFilter} onApply=${() => setApplied(filter)} />
    <div class="live-controls">
      <button type="button" aria-pressed=${paused ? 'true' : 'false'} onClick=${paused ? resume : () => setPaused(true)}>
        ${paused ? 'Resume' : 'Pause'}
      </button>
      ${paused && html`<span class="live-held">Paused: <strong>${held.count} new</strong> since, not shown yet.</span>`}
      <button
        type="button"
        onClick=${() => {
          setRows([]);
          setHeld({ rows: [], count: 0 });
        }}
      >
        Clear the list
      </button>
      <p class=${`live-connection connection-${connection.state}`} role="status">
        ${connectionText(connection, filterText)}
      </p>
    </div>
    ${
      dropped > 0 &&
      html`<p class="live-dropped" role="status">
        This page could not keep up: the console dropped ${dropped} ${dropped === 1 ? 'message' : 'messages'} for
        it, so the list has gaps.
      </p>`
    }
    <div class="live-layout">
      <section aria-labelledby="messages-heading">
        <h2 id="messages-heading">Messages</h2>
        <${MessageTable}
          rows=${shown}
          selectedKey=${selected?.key}
          onSelect=${setSelected}
          filterText=${filterText}
        />
      </section>
      <section class="live-detail" aria-labelledby="detail-heading">
        <h2 id="detail-heading">Envelope</h2>
        <${Detail}
          message=${selected?.message}
          onFollow=${(correlationId) => changeFilter({ ...filter, correlationId }, true)}
        />
      </section>
    </div>
  `;
}

const target = document.getElementById('live');
target.replaceChildren();
render(html`<${LivePage} />`, target);
