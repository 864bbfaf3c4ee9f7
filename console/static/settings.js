// The Overview's "This process": GET /api/settings, read once (a process's settings do not change while it runs).
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';

const html = htm.bind(h);

function SettingsTable({ settings }) {
  if (settings.length === 0) return html`<p>This process did not tell the console its settings.</p>`;
  const set = settings.filter((setting) => setting.from === 'environment').length;
  return html`<details>
    <summary>${settings.length} variables, ${set} set in the environment</summary>
    <div class="table-scroll">
      <table>
        <caption>Settings of this process</caption>
        <thead>
          <tr><th scope="col">Variable</th><th scope="col">Value</th><th scope="col">From</th><th scope="col">Meaning</th></tr>
        </thead>
        <tbody>
          ${settings.map(
            (setting) => html`<tr key=${setting.name} data-setting=${setting.name}>
              <th scope="row"><code>${setting.name}</code></th>
              <td><code>${setting.shown}</code></td>
              <td>${setting.from === 'environment' ? 'environment' : 'default'}</td>
              <td>${setting.meaning ?? ''}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </details>`;
}

const target = document.getElementById('settings');
try {
  const response = await fetch('/api/settings', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET /api/settings answered ${response.status}`);
  const { settings } = await response.json();
  render(html`<${SettingsTable} settings=${settings} />`, target);
} catch (error) {
  render(html`<p role="alert">Could not load the settings: ${error.message}</p>`, target);
}
