// The Flows page: every flow file from GET /api/flows, its state in words, its steps as an SVG graph laid
// out by dagre (dependsOn as arrows), and its source. Preact + htm from /vendor/: no build step.
import dagre from '/vendor/dagre.mjs';
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';

const html = htm.bind(h);
const REFRESH_MS = 10_000;
/** Node text is monospace at this size, so a line's width follows from its length. */
const FONT_PX = 13;
const CHAR_PX = FONT_PX * 0.62;
const LINE_PX = 18;
const PAD_PX = 10;

/** The three lines of a step's node: its id, what it listens for and sends, and its counts. */
function nodeLines(node) {
  return [node.id, `${node.event} -> ${node.command}`, `fired ${node.fired}, failed ${node.failed}`];
}

/** Positions for every node and edge, from dagre; sizes follow the text of each node. */
function layout(graph) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, marginx: 4, marginy: 4 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) {
    const longest = Math.max(...nodeLines(node).map((line) => line.length));
    g.setNode(node.id, { width: longest * CHAR_PX + 2 * PAD_PX, height: 3 * LINE_PX + PAD_PX });
  }
  for (const edge of graph.edges) g.setEdge(edge.from, edge.to);
  dagre.layout(g);
  return g;
}

function describeGraph(flowName, graph) {
  const steps = graph.nodes.map((node) => {
    const after = node.dependsOn.length > 0 ? `, after ${node.dependsOn.join(' or ')}` : '';
    return `${node.id}: ${node.event} to ${node.command}${after}, fired ${node.fired}, failed ${node.failed}`;
  });
  return `Steps of flow ${flowName}: ${steps.join('; ')}`;
}

function StepGraph({ flowName, graph }) {
  const g = layout(graph);
  const { width, height } = g.graph();
  const markerId = `arrow-${flowName.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return html`<div class="graph-scroll">
    <svg class="step-graph" role="img" aria-label=${describeGraph(flowName, graph)} width=${Math.ceil(width)} height=${Math.ceil(height)} viewBox=${`0 0 ${Math.ceil(width)} ${Math.ceil(height)}`}>
      <defs>
        <marker id=${markerId} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
        </marker>
      </defs>
      ${graph.edges.map((edge) => {
        const points = g.edge(edge.from, edge.to).points;
        const d = points.map((point, index) => `${index === 0 ? 'M' : 'L'} ${point.x} ${point.y}`).join(' ');
        return html`<path key=${`${edge.from}->${edge.to}`} class="edge" d=${d} marker-end=${`url(#${markerId})`} data-edge=${`${edge.from}->${edge.to}`} />`;
      })}
      ${graph.nodes.map((node) => {
        const box = g.node(node.id);
        const left = box.x - box.width / 2;
        const top = box.y - box.height / 2;
        return html`<g key=${node.id} class=${node.failed > 0 ? 'step has-failures' : 'step'} data-step=${node.id}>
          <rect x=${left} y=${top} width=${box.width} height=${box.height} rx="6" />
          ${nodeLines(node).map(
            (line, index) =>
              html`<text x=${left + PAD_PX} y=${top + PAD_PX / 2 + LINE_PX * (index + 0.8)} class=${index === 0 ? 'step-id' : ''}>${line}</text>`,
          )}
        </g>`;
      })}
    </svg>
  </div>`;
}

function StepTable({ graph }) {
  return html`<details>
    <summary>The steps as a table</summary>
    <div class="table-scroll">
      <table>
        <thead>
          <tr><th scope="col">Step</th><th scope="col">Listens for</th><th scope="col">Sends</th><th scope="col">After</th><th scope="col">Fired</th><th scope="col">Failed</th></tr>
        </thead>
        <tbody>
          ${graph.nodes.map(
            (node) => html`<tr key=${node.id}>
              <th scope="row"><code>${node.id}</code></th>
              <td><code>${node.event}</code></td>
              <td><code>${node.command}</code></td>
              <td>${node.dependsOn.length > 0 ? node.dependsOn.join(' or ') : 'starts an instance'}</td>
              <td>${node.fired}</td>
              <td>${node.failed}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </details>`;
}

function Problems({ title, items }) {
  if (items.length === 0) return null;
  return html`<div class="problems">
    <p>${title}</p>
    <ul>${items.map((item) => html`<li key=${item}><code>${item}</code></li>`)}</ul>
  </div>`;
}

function Flow({ flow }) {
  const headingId = `flow-${flow.file.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const detail =
    flow.state === 'loaded'
      ? `flow ${flow.name}, version ${flow.version}`
      : flow.version
        ? `its previous version ${flow.version} (flow ${flow.name}) stays in force`
        : 'nothing of it is in force';
  return html`<section class=${`flow flow-${flow.state}`} aria-labelledby=${headingId} data-file=${flow.file}>
    <h2 id=${headingId}><code>${flow.file}</code></h2>
    <p class="flow-state"><strong class=${`state-${flow.state}`}>${flow.state === 'loaded' ? 'Loaded' : 'Refused'}</strong>: ${detail}</p>
    ${flow.description ? html`<p>${flow.description}</p>` : null}
    <${Problems} title="Problems (as switchboard flows check lists them):" items=${flow.problems} />
    <${Problems} title="Warnings: commands the packs did not announce (the engine runs the flow anyway):" items=${flow.warnings} />
    ${
      flow.graph
        ? html`<${StepGraph} flowName=${flow.name} graph=${flow.graph} />
            <${StepTable} graph=${flow.graph} />
            <p><a href=${`/executions?flow=${encodeURIComponent(flow.name)}`}>Executions of ${flow.name}</a></p>`
        : null
    }
    <details>
      <summary>Source of <code>${flow.file}</code>${flow.state === 'refused' ? ' (as it is now, refused)' : ''}</summary>
      <pre><code>${flow.source ?? 'The file could not be read.'}</code></pre>
    </details>
    ${
      flow.sourceInForce
        ? html`<details>
            <summary>Source of the version in force (${flow.version})</summary>
            <pre><code>${flow.sourceInForce}</code></pre>
          </details>`
        : null
    }
  </section>`;
}

function FlowList({ answer }) {
  if (answer.flows.length === 0) {
    return html`<p>No flow file in <code>${answer.flowsDir}</code> yet. Every <code>*.json</code>, <code>*.yaml</code> or <code>*.yml</code> file there is a flow (see docs/engine.md); the engine picks up a new one without a restart.</p>`;
  }
  const refused = answer.flows.filter((flow) => flow.state === 'refused').length;
  return html`<p>${answer.flows.length} flow file(s) in <code>${answer.flowsDir}</code>${refused > 0 ? `, ${refused} refused` : ', all loaded'}.</p>
    ${answer.flows.map((flow) => html`<${Flow} key=${flow.file} flow=${flow} />`)}`;
}

async function refresh(target) {
  try {
    const response = await fetch('/api/flows', { headers: { Accept: 'application/json' } });
    const answer = await response.json();
    if (response.status === 503 && answer.error?.code === 'engine_not_running') {
      render(html`<p role="status">No flow engine runs in this console's process, so there are no flows to show: ${answer.error.message}.</p>`, target);
      return;
    }
    if (!response.ok) throw new Error(answer.error?.message ?? `GET /api/flows answered ${response.status}`);
    render(html`<${FlowList} answer=${answer} />`, target);
  } catch (error) {
    render(html`<p role="alert">Could not load the flows: ${error.message}</p>`, target);
  }
}

const target = document.getElementById('flows');
target.replaceChildren();
await refresh(target);
setInterval(() => refresh(target), REFRESH_MS);
