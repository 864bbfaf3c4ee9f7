// The Dead letters page: what is in switchboard.dead (GET /api/dead-letters), refreshed every few seconds,
// with Requeue and Discard for one letter or for all, each after a confirmation in a <dialog>.
// Preact + htm straight from node_modules (served under /vendor/): no build step, no inline script.
import htm from '/vendor/htm.mjs';
import { h, render } from '/vendor/preact.mjs';
import { useCallback, useEffect, useRef, useState } from '/vendor/preact-hooks.mjs';

const html = htm.bind(h);
const REFRESH_MS = 5000;
/** Characters of a body the table shows; Details shows all of it. */
const PREVIEW_CHARS = 120;
const REQUEUED_AT_HEADER = 'x-switchboard-requeued-at';

function plural(count, word) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Calls the API; rejects with the reason the console gave ({"error": {"message"}}). */
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(answer?.error?.message ?? `${method} ${path} answered ${response.status}`);
  return answer;
}

const letterPath = (id) => `/api/dead-letters/${encodeURIComponent(id)}`;

/** Where a letter goes back to on Requeue, or null when nothing says. */
function destinationOf(letter) {
  if (!letter.originalRoutingKey || letter.originalExchange === null) return null;
  return { exchange: letter.originalExchange, routingKey: letter.originalRoutingKey };
}

function destinationText({ exchange, routingKey }) {
  return `${routingKey} on ${exchange === '' ? 'the default exchange (a queue by name)' : exchange}`;
}

function Destination({ letter }) {
  const to = destinationOf(letter);
  if (!to) return html`<span>unknown (nothing says; it can only be discarded)</span>`;
  return html`<code>${to.routingKey}</code>
    <small> on ${to.exchange === '' ? 'the default exchange (a queue by name)' : html`<code>${to.exchange}</code>`}</small>`;
}

function Time({ iso }) {
  if (!iso) return html`<span>unknown</span>`;
  return html`<time datetime=${iso}>${new Date(iso).toLocaleString()}</time>`;
}

function BodyPreview({ letter }) {
  const text = letter.bodyEncoding === 'base64' ? `(not text; base64) ${letter.body}` : letter.body;
  const preview = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  return html`<code class="body-preview">${preview || '(empty)'}</code>
    <small class="body-facts">${plural(letter.size, 'byte')}, ${letter.bodyIsJson ? 'JSON' : 'not valid JSON'}</small>`;
}

/** The body as a person reads it: JSON indented, anything else as it is. */
function readableBody(letter) {
  if (letter.bodyEncoding === 'base64') return `(not UTF-8 text; base64)\n${letter.body}`;
  if (!letter.bodyIsJson) return letter.body;
  return JSON.stringify(JSON.parse(letter.body), null, 2);
}

function Details({ letter }) {
  const [whole, setWhole] = useState(letter.bodyTruncated ? null : letter);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!letter.bodyTruncated) return;
    api('GET', letterPath(letter.id)).then(
      (answer) => setWhole(answer.letter),
      (failure) => setError(failure.message),
    );
  }, [letter.id, letter.bodyTruncated]);
  let body = html`<p>Loading the whole body…</p>`;
  if (error) body = html`<p role="alert">Could not load the whole body: ${error}</p>`;
  else if (whole) body = html`<pre class="letter-body">${readableBody(whole)}</pre>`;
  return html`<div class="letter-details">
    <dl>
      <dt>Id in this console</dt>
      <dd><code>${letter.id}</code></dd>
      <dt>AMQP message id</dt>
      <dd>${letter.messageId ? html`<code>${letter.messageId}</code>` : 'none'}</dd>
    </dl>
    <h3>Body (${plural(letter.size, 'byte')})</h3>
    ${body}
    <h3>Headers</h3>
    <pre class="letter-headers">${JSON.stringify(letter.headers, null, 2)}</pre>
  </div>`;
}

function LetterRows({ letter, number, expanded, onToggle, onAsk }) {
  const detailsId = `letter-details-${number}`;
  const requeuedAt = letter.headers[REQUEUED_AT_HEADER];
  return html`<tr data-letter-id=${letter.id}>
      <td>${letter.reason ?? 'no reason given'}</td>
      <td><${Destination} letter=${letter} /></td>
      <td>
        <${Time} iso=${letter.deadLetteredAt} />
        ${typeof requeuedAt === 'string' && html`<br /><small class="requeued">requeued before, at <${Time} iso=${requeuedAt} />, and refused again</small>`}
      </td>
      <td><${BodyPreview} letter=${letter} /></td>
      <td class="actions">
        <button type="button" aria-expanded=${expanded ? 'true' : 'false'} aria-controls=${detailsId} onClick=${onToggle}>
          ${expanded ? 'Hide details' : 'Details'}<span class="visually-hidden"> of letter ${number}</span>
        </button>
        ${destinationOf(letter) && html`<button type="button" onClick=${() => onAsk('requeue', [letter])}>Requeue<span class="visually-hidden"> letter ${number}</span>…</button>`}
        <button type="button" onClick=${() => onAsk('discard', [letter])}>Discard<span class="visually-hidden"> letter ${number}</span>…</button>
      </td>
    </tr>
    ${expanded && html`<tr id=${detailsId} class="details"><td colspan="5"><${Details} letter=${letter} /></td></tr>`}`;
}

function EmptyState() {
  return html`<div class="empty">
    <p><strong>No dead letters:</strong> <code>switchboard.dead</code> is empty.</p>
    <p>A dead letter is a message that can never be handled, set aside so that it neither blocks its queue
    nor disappears. One appears here when a pack or the engine refuses a message for good (a body that is
    not JSON or not an envelope, over 4 MiB, of the wrong kind, or for another pack; its reason says which),
    or when RabbitMQ gives up on a message whose consumer died with it 10 times. A payload that merely fails
    a command's schema is not dead-lettered: it is answered with a failure event instead.</p>
  </div>`;
}

/** What a confirmation says: what will happen, to how many letters. */
function confirmationOf(action, letters, listing, bulk) {
  const count = plural(letters.length, 'letter');
  const notShown = listing.total - listing.shown;
  const rest = notShown > 0 ? ` The ${plural(notShown, 'letter')} not shown stay in switchboard.dead.` : '';
  if (action === 'requeue') {
    const where =
      letters.length === 1
        ? `goes back to ${destinationText(destinationOf(letters[0]))}`
        : 'go back to where each was going';
    const skipped = listing.letters.length - letters.length;
    return {
      title: bulk ? `Requeue ${count}?` : 'Requeue this letter?',
      detail:
        `${count} ${where}: the original body and properties are published again, and each leaves ` +
        'switchboard.dead once RabbitMQ has confirmed its copy. One that is refused again comes back here.' +
        (bulk && skipped > 0 ? ` ${plural(skipped, 'letter')} that say nowhere to go back to stay.` : '') +
        (bulk ? `${rest} Letters that arrived after this list was loaded are not touched.` : ''),
      confirm: `Requeue ${count}`,
    };
  }
  return {
    title: bulk ? `Discard ${count}?` : 'Discard this letter?',
    detail:
      `${count} will be deleted from switchboard.dead for good: nothing can bring ${letters.length === 1 ? 'it' : 'them'} back.` +
      (bulk ? `${rest} Letters that arrived after this list was loaded are not touched.` : ''),
    confirm: `Discard ${count}`,
  };
}

function ConfirmDialog({ pending, onConfirm, onCancel }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (pending && !dialog.open) dialog.showModal();
    if (!pending && dialog.open) dialog.close();
  }, [pending]);
  const cancel = (event) => {
    event.preventDefault();
    onCancel();
  };
  return html`<dialog ref=${ref} aria-labelledby="confirm-title" aria-describedby="confirm-detail" onCancel=${cancel}>
    ${
      pending &&
      html`<h2 id="confirm-title">${pending.title}</h2>
        <p id="confirm-detail">${pending.detail}</p>
        <div class="dialog-buttons">
          <button type="button" autofocus onClick=${onCancel}>Cancel</button>
          <button type="button" class="confirm" onClick=${onConfirm}>${pending.confirm}</button>
        </div>`
    }
  </dialog>`;
}

/** What an action did, in a sentence. */
function outcomeOf(action, answer) {
  const past = action === 'requeue' ? 'Requeued' : 'Discarded';
  const done = answer.requeued ?? answer.discarded;
  if (!Array.isArray(done)) {
    return action === 'requeue'
      ? `Requeued 1 letter to ${destinationText(done)}.`
      : 'Discarded 1 letter.';
  }
  let text = `${past} ${plural(done.length, 'letter')}.`;
  if (answer.failed.length > 0) {
    const reasons = answer.failed.slice(0, 3).map(({ id, error }) => `${id}: ${error.message}`);
    text += ` ${plural(answer.failed.length, 'letter')} could not be: ${reasons.join('; ')}${answer.failed.length > 3 ? '; …' : ''}`;
  }
  return text;
}

function DeadLetters() {
  const [listing, setListing] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [expanded, setExpanded] = useState(() => new Set());
  const [pending, setPending] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const busy = useRef(false);
  const outcomeRef = useRef(null);

  const load = useCallback(async () => {
    try {
      setListing(await api('GET', '/api/dead-letters'));
      setLoadError(null);
    } catch (error) {
      setLoadError(error.message);
    }
  }, []);

  useEffect(() => {
    load();
    const timer = setInterval(() => {
      if (!busy.current) load();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const ask = (action, letters, bulk = false) => {
    setPending({ action, letters, bulk, ...confirmationOf(action, letters, listing, bulk) });
  };

  const confirm = async () => {
    const { action, letters, bulk } = pending;
    setPending(null);
    busy.current = true;
    try {
      let answer;
      if (!bulk) {
        const [letter] = letters;
        answer =
          action === 'requeue'
            ? await api('POST', `${letterPath(letter.id)}/requeue`)
            : await api('DELETE', letterPath(letter.id));
      } else {
        answer = await api('POST', `/api/dead-letters/${action}-all`, { ids: letters.map((l) => l.id) });
      }
      setOutcome({ text: outcomeOf(action, answer), failed: (answer.failed ?? []).length > 0 });
    } catch (error) {
      setOutcome({ text: `Could not ${action} it: ${error.message}`, failed: true });
    }
    await load();
    busy.current = false;
    // The buttons just used may be gone: the sentence saying what happened takes the focus.
    outcomeRef.current?.focus();
  };

  const toggle = (id) => {
    const next = new Set(expanded);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setExpanded(next);
  };

  if (!listing && !loadError) return html`<p>Loading…</p>`;
  const letters = listing?.letters ?? [];
  const requeueable = letters.filter((letter) => destinationOf(letter));
  return html`
    ${loadError && html`<p role="alert">Could not read the dead letters: ${loadError}</p>`}
    <p class="outcome" role="status" tabindex="-1" ref=${outcome?.failed ? undefined : outcomeRef}>${outcome && !outcome.failed ? outcome.text : ''}</p>
    ${outcome?.failed && html`<p class="outcome" role="alert" tabindex="-1" ref=${outcomeRef}>${outcome.text}</p>`}
    ${
      listing &&
      (letters.length === 0
        ? html`<${EmptyState} />
            <div class="toolbar"><button type="button" onClick=${load}>Refresh</button></div>`
        : html`<p class="summary" id="dead-letter-summary">
              ${
                listing.total === listing.shown
                  ? `${plural(listing.total, 'letter')} in switchboard.dead, oldest first.`
                  : `${plural(listing.total, 'letter')} in switchboard.dead; the oldest ${listing.shown} are shown. ${listing.total - listing.shown} more not shown: requeue or discard some to see them.`
              }
            </p>
            <div class="toolbar">
              <button type="button" disabled=${requeueable.length === 0} onClick=${() => ask('requeue', requeueable, true)}>
                Requeue all (${requeueable.length})…
              </button>
              <button type="button" onClick=${() => ask('discard', letters, true)}>Discard all (${letters.length})…</button>
              <button type="button" onClick=${load}>Refresh</button>
            </div>
            <div class="table-scroll">
              <table>
                <caption>Dead letters, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Reason</th>
                    <th scope="col">Was going to</th>
                    <th scope="col">Dead-lettered</th>
                    <th scope="col">Body</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  ${letters.map(
                    (letter, index) =>
                      html`<${LetterRows}
                        key=${letter.id}
                        letter=${letter}
                        number=${index + 1}
                        expanded=${expanded.has(letter.id)}
                        onToggle=${() => toggle(letter.id)}
                        onAsk=${ask}
                      />`,
                  )}
                </tbody>
              </table>
            </div>`)
    }
    <${ConfirmDialog} pending=${pending} onConfirm=${confirm} onCancel=${() => setPending(null)} />`;
}

const target = document.getElementById('dead-letters');
target.replaceChildren();
render(html`<${DeadLetters} />`, target);
