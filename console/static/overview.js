// The Overview page: GET /api/overview (packs, queues, dead letters, waiting commands, the last hour's
// traffic, the latest failures), refreshed every few seconds.
// Preact + htm straight from node_modules (served under /vendor/): no build step, no inline script.
// uPlot draws the chart on a canvas; the same counts are in a table and a sentence beside it.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';
import { useEffect, useRef } from '/vendor/preact-hooks.mjs';

// The chart only adds a picture to counts the page also gives in words and in a table: a chart library
// that fails to load must not take the rest of the page with it.
const chartLibrary = import('/vendor/uplot.mjs').then(
  (module) => ({ uPlot: module.default }),
  (error) => ({ error }),
);

const html = htm.bind(h);
const REFRESH_MS = 5000;

const time = (iso) => new Date(iso).toLocaleTimeString();
const dateTime = (iso) => new Date(iso).toLocaleString();

function ago(iso, now) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

const plural = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function Labels({ labels }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return html`<span>none</span>`;
  return entries.map(([key, value]) => html`<code>${key}=${value}</code> `);
}

/** The state in words: never colour alone. */
function PackState({ pack, now }) {
  if (pack.state === 'stopped') return `stopped${pack.stopReason ? ` (${pack.stopReason})` : ''}`;
  if (pack.state === 'silent') {
    return html`silent: not heard from since <time datetime=${pack.lastSeen}>${dateTime(pack.lastSeen)}</time>
      (${ago(pack.lastSeen, now)}; it says it is alive every ${pack.aliveIntervalMs / 1000} s)`;
  }
  return 'running';
}

function PackTable({ packs, now }) {
  if (packs.length === 0) {
    return html`<p>No pack has announced itself yet. Packs announce themselves when they start, and every 30 seconds while they run.</p>`;
  }
  return html`<div class="table-scroll">
    <table>
      <caption>Pack instances</caption>
      <thead>
        <tr><th scope="col">Pack</th><th scope="col">State</th><th scope="col">Version</th><th scope="col">Labels</th><th scope="col">Last seen</th><th scope="col">Instance</th></tr>
      </thead>
      <tbody>
        ${packs.map(
          (pack) => html`<tr key=${pack.instanceId} data-pack=${pack.name}>
            <th scope="row">${pack.name}</th>
            <td class=${`state-${pack.state}`}><${PackState} pack=${pack} now=${now} /></td>
            <td>${pack.version ?? 'unknown'}</td>
            <td><${Labels} labels=${pack.labels} /></td>
            <td><time datetime=${pack.lastSeen}>${dateTime(pack.lastSeen)}</time></td>
            <td><code>${pack.instanceId}</code></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

const count = (value) => (value === null ? 'unknown' : value);

function QueueTable({ queues, deadLetters }) {
  return html`${
    queues.length === 0
      ? html`<p>No pack queue to show: queues are listed for the packs seen above.</p>`
      : html`<div class="table-scroll">
          <table>
            <caption>Pack queues</caption>
            <thead>
              <tr><th scope="col">Pack</th><th scope="col">Queue</th><th scope="col">Messages waiting</th><th scope="col">Consumers</th><th scope="col">Note</th></tr>
            </thead>
            <tbody>
              ${queues.map(
                (queue) => html`<tr key=${queue.queue} data-queue=${queue.pack}>
                  <th scope="row">${queue.pack}</th>
                  <td><code>${queue.queue}</code></td>
                  <td class="number">${count(queue.messages)}</td>
                  <td class="number">${count(queue.consumers)}</td>
                  <td>${queue.note ?? (queue.consumers === 0 ? 'no consumer: commands wait here until an instance starts' : '')}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`
  }
    <p id="dead-letters-count">
      Dead letters (<code>${deadLetters.queue}</code>): ${deadLetters.messages === null ? `${deadLetters.note}.` : `${plural(deadLetters.messages, 'message')} waiting.`}${' '}
      <a href="/dead-letters">See them on the Dead letters page</a>.
    </p>`;
}

function WaitingCommands({ waiting }) {
  if (waiting === null) {
    return html`<p>On RabbitMQ, a command for a pack that is not running waits in that pack's queue, counted above.</p>`;
  }
  if (waiting.length === 0) {
    return html`<p>No command is waiting: on the in-memory bus, a command for a pack that has not started waits here until it does.</p>`;
  }
  return html`<div class="table-scroll">
    <table>
      <caption>Commands waiting for a pack that is not running (in-memory bus)</caption>
      <thead><tr><th scope="col">Command</th><th scope="col">Waiting</th><th scope="col">Oldest since</th></tr></thead>
      <tbody>
        ${waiting.map(
          (entry) => html`<tr key=${entry.routingKey} data-waiting=${entry.routingKey}>
            <th scope="row"><code>${entry.routingKey}</code></th>
            <td class="number">${entry.count}</td>
            <td><time datetime=${entry.oldestAt}>${dateTime(entry.oldestAt)}</time></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

// Told apart by dash pattern and legend text as well as by colour.
const SERIES = [
  { key: 'events', label: 'Events', stroke: '#1f77b4', dash: [] },
  { key: 'commands', label: 'Commands', stroke: '#2e7d32', dash: [8, 4] },
  { key: 'failures', label: 'Failures', stroke: '#c62828', dash: [2, 3] },
];

function chartData(minutes) {
  return [minutes.map((minute) => Date.parse(minute.minute) / 1000), ...SERIES.map(({ key }) => minutes.map((minute) => minute[key]))];
}

function ActivityChart({ minutes }) {
  const target = useRef(null);
  const chart = useRef(null);
  const latest = useRef(minutes);
  latest.current = minutes;
  useEffect(() => {
    const element = target.current;
    let cancelled = false;
    let removeResize = () => {};
    chartLibrary.then(({ uPlot, error }) => {
      if (cancelled) return;
      if (error) {
        element.textContent = `The chart could not be drawn (${error.message}); the counts are in the sentence above and the table below.`;
        return;
      }
      removeResize = drawChart(uPlot, element, latest.current, chart);
    });
    return () => {
      cancelled = true;
      removeResize();
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setData(chartData(minutes));
  }, [minutes]);
  return html`<div class="chart" ref=${target} role="img" aria-label="Events, commands and failures per minute over the last hour; the same counts are in the table below"></div>`;
}

/** Draws the chart into `element`, keeps it in `chart.current`; returns what stops it following the window's width. */
function drawChart(uPlot, element, minutes, chart) {
  const ink = getComputedStyle(element).color;
  const axis = { stroke: ink, grid: { stroke: '#8884' }, ticks: { stroke: '#8884' } };
  const width = () => Math.max(280, element.clientWidth);
  chart.current = new uPlot(
    {
      width: width(),
      height: 240,
      scales: { y: { range: (_u, _min, max) => [0, Math.max(5, max)] } },
      axes: [axis, { ...axis, label: 'per minute' }],
      series: [{ label: 'Minute' }, ...SERIES.map(({ label, stroke, dash }) => ({ label, stroke, dash, width: 2, points: { show: false } }))],
      legend: { live: false },
    },
    chartData(minutes),
    element,
  );
  const resize = () => chart.current?.setSize({ width: width(), height: 240 });
  window.addEventListener('resize', resize);
  return () => window.removeEventListener('resize', resize);
}

function activitySentence(totals, busiest) {
  const counts = `In the last hour: ${plural(totals.events, 'event')}, ${plural(totals.commands, 'command')}, ${plural(totals.failures, 'failure')}.`;
  if (!busiest) return `${counts} Nothing has passed on the bus yet.`;
  return `${counts} Busiest minute: ${time(busiest.minute)}, with ${plural(busiest.events, 'event')} and ${plural(busiest.commands, 'command')}.`;
}

function Activity({ activity }) {
  const { totals, minutes } = activity;
  const busy = minutes.filter((minute) => minute.events + minute.commands > 0);
  const busiest = busy.reduce((best, minute) => (minute.events + minute.commands > (best ? best.events + best.commands : -1) ? minute : best), undefined);
  return html`
    <p id="activity-summary">${activitySentence(totals, busiest)}</p>
    <${ActivityChart} minutes=${minutes} />
    <details>
      <summary>The counts per minute, as a table</summary>
      ${
        busy.length === 0
          ? html`<p>No minute of the last hour had traffic.</p>`
          : html`<div class="table-scroll">
              <table>
                <caption>Traffic per minute (minutes without any are left out)</caption>
                <thead><tr><th scope="col">Minute</th><th scope="col">Events</th><th scope="col">Commands</th><th scope="col">Failures</th></tr></thead>
                <tbody>
                  ${busy.map(
                    (minute) => html`<tr key=${minute.minute}>
                      <th scope="row"><time datetime=${minute.minute}>${time(minute.minute)}</time></th>
                      <td class="number">${minute.events}</td>
                      <td class="number">${minute.commands}</td>
                      <td class="number">${minute.failures}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </details>`;
}

function Failures({ failures }) {
  if (failures.length === 0) {
    return html`<p>No failure since the console started. A failure event (one named <code>…Failed</code>, or carrying an <code>errorCode</code>) would be listed here with its reason.</p>`;
  }
  return html`<div class="table-scroll">
    <table>
      <caption>Latest failures, newest first</caption>
      <thead>
        <tr><th scope="col">When</th><th scope="col">Pack</th><th scope="col">Event</th><th scope="col">Error code</th><th scope="col">Reason</th><th scope="col">Correlation id</th></tr>
      </thead>
      <tbody>
        ${failures.map(
          (failure) => html`<tr key=${failure.id} data-failure=${failure.pack}>
            <td><time datetime=${failure.createdAt}>${dateTime(failure.createdAt)}</time></td>
            <td>${failure.pack}</td>
            <td>${failure.name}</td>
            <td><code>${failure.errorCode ?? 'none given'}</code></td>
            <td>${failure.reason ?? 'none given'}</td>
            <td><code>${failure.correlationId ?? ''}</code></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function Summary({ overview }) {
  const states = { running: 0, silent: 0, stopped: 0 };
  for (const pack of overview.packs) states[pack.state]++;
  const dead = overview.deadLetters.messages;
  const parts = [
    `${plural(overview.packs.length, 'pack instance')}: ${states.running} running, ${states.silent} silent, ${states.stopped} stopped.`,
  ];
  if (dead !== null) parts.push(`${plural(dead, 'dead letter')}.`);
  const [latest] = overview.failures;
  if (latest) parts.push(`Latest failure: ${latest.pack} ${latest.name} at ${time(latest.createdAt)}.`);
  return html`<p role="status" class="summary">${parts.join(' ')}</p>`;
}

function Overview({ overview }) {
  const now = Date.parse(overview.generatedAt);
  return html`
    <${Summary} overview=${overview} />
    <section aria-labelledby="packs-heading">
      <h2 id="packs-heading">Packs</h2>
      <${PackTable} packs=${overview.packs} now=${now} />
    </section>
    <section aria-labelledby="queues-heading">
      <h2 id="queues-heading">Queues</h2>
      <${QueueTable} queues=${overview.queues} deadLetters=${overview.deadLetters} />
      <h3>Commands waiting for a pack</h3>
      <${WaitingCommands} waiting=${overview.waitingCommands} />
    </section>
    <section aria-labelledby="activity-heading">
      <h2 id="activity-heading">The last hour</h2>
      <${Activity} activity=${overview.activity} />
    </section>
    <section aria-labelledby="failures-heading">
      <h2 id="failures-heading">Latest failures</h2>
      <${Failures} failures=${overview.failures} />
    </section>`;
}

async function refresh(target) {
  try {
    const response = await fetch('/api/overview', { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET /api/overview answered ${response.status}`);
    render(html`<${Overview} overview=${await response.json()} />`, target);
  } catch (error) {
    render(html`<p role="alert">Could not load the overview: ${error.message}</p>`, target);
  }
}

const target = document.getElementById('overview');
target.replaceChildren();
await refresh(target);
setInterval(() => refresh(target), REFRESH_MS);
