// The Overview page: the pack instances from GET /api/packs, refreshed every few seconds.
// Preact + htm straight from node_modules (served under /vendor/): no build step, no inline script.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';

const html = htm.bind(h);
const REFRESH_MS = 5000;

function Labels({ labels }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return html`<span>none</span>`;
  return entries.map(([key, value]) => html`<code>${key}=${value}</code> `);
}

function PackTable({ packs }) {
  if (packs.length === 0) {
    return html`<p>No pack has announced itself yet. Packs announce themselves when they start.</p>`;
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
            <td class=${`state-${pack.state}`}>${pack.state}${pack.stopReason ? ` (${pack.stopReason})` : ''}</td>
            <td>${pack.version ?? 'unknown'}</td>
            <td><${Labels} labels=${pack.labels} /></td>
            <td><time datetime=${pack.lastSeen}>${new Date(pack.lastSeen).toLocaleString()}</time></td>
            <td><code>${pack.instanceId}</code></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

async function refresh(target) {
  try {
    const response = await fetch('/api/packs', { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET /api/packs answered ${response.status}`);
    const { packs } = await response.json();
    render(html`<${PackTable} packs=${packs} />`, target);
  } catch (error) {
    render(html`<p role="alert">Could not load the packs: ${error.message}</p>`, target);
  }
}

const target = document.getElementById('packs');
target.replaceChildren();
await refresh(target);
setInterval(() => refresh(target), REFRESH_MS);
