import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { renderRichMessage } from '../../../packs/matrix/rich-message.ts';

/** The command input of the announce_deployments flow, as the Matrix pack would receive it. */
function announceDeploymentsInput(): { attachments?: unknown[] } {
  const path = resolve(import.meta.dirname, '../../../flows/announce_deployments.json');
  const flow = JSON.parse(readFileSync(path, 'utf8'));
  return flow.steps[0].command.input;
}

test('the announce_deployments attachment: coloured bar, bold title, mrkdwn text, fields, button as a link', () => {
  const content = renderRichMessage(announceDeploymentsInput());
  assert.deepEqual(content, {
    body: [
      'Deployment Update',
      '@USER, the deploy of `YOURAPP.0.1.641` to `staging` has completed with a status of *success*.',
      'Artefact: YOURAPP.0.1.641',
      'Environment: staging',
      'View Logs: http://logs.example.com/staging/deploy/vFZhU-1388',
    ].join('\n'),
    format: 'org.matrix.custom.html',
    formatted_body: [
      '<p><font data-mx-color="#36a64f">▌</font> <b>Deployment Update</b></p>',
      '<p>@USER, the deploy of <code>YOURAPP.0.1.641</code> to <code>staging</code> has completed with a status of <b>success</b>.</p>',
      '<ul><li><b>Artefact</b>: YOURAPP.0.1.641</li><li><b>Environment</b>: staging</li></ul>',
      '<p><a href="http://logs.example.com/staging/deploy/vFZhU-1388">View Logs</a></p>',
    ].join(''),
  });
});

test('a plain text message stays plain: no format, no formatted_body', () => {
  assert.deepEqual(renderRichMessage({ text: 'deploy done' }), { body: 'deploy done' });
  assert.deepEqual(renderRichMessage({ text: 'ping <@U123>\nsee & go' }), { body: 'ping @U123\nsee & go' });
});

test('mrkdwn in text becomes HTML', () => {
  const content = renderRichMessage({
    text: '*bold* _italic_ ~strike~ `code` <https://example.com/a?b=1|the docs> <https://example.com> <@U123>\nnext line',
  });
  assert.equal(
    content.formatted_body,
    '<b>bold</b> <i>italic</i> <s>strike</s> <code>code</code> ' +
      '<a href="https://example.com/a?b=1">the docs</a> <a href="https://example.com/">https://example.com</a> ' +
      '@U123<br>next line',
  );
  assert.equal(
    content.body,
    '*bold* _italic_ ~strike~ `code` the docs (https://example.com/a?b=1) https://example.com @U123\nnext line',
  );
  assert.equal(content.format, 'org.matrix.custom.html');
});

test('mrkdwn: a ``` block becomes <pre>, and nothing inside code is formatted', () => {
  const content = renderRichMessage({ text: 'log:\n```\n*not bold* <x>\n```' });
  assert.equal(content.formatted_body, 'log:<br><pre><code>*not bold* &lt;x&gt;</code></pre>');
  assert.equal(renderRichMessage({ text: '`*a*`' }).formatted_body, '<code>*a*</code>');
});

test('mrkdwn: markers inside words are left alone', () => {
  assert.deepEqual(renderRichMessage({ text: 'snake_case_name and 2*3*4' }), {
    body: 'snake_case_name and 2*3*4',
  });
});

test('text from the input is escaped: a <script> cannot get into the HTML', () => {
  const content = renderRichMessage({
    text: '<script>alert(1)</script> *hi*',
    attachments: [
      {
        title: '<script>alert("t")</script>',
        text: "it's <img src=x onerror=alert(1)>",
        fields: [{ title: '<b>', value: '"quoted" & <i>' }],
        actions: [{ type: 'button', text: '<script>', url: 'https://example.com/"><script>' }],
        footer: '<script>',
      },
    ],
  });
  const html = content.formatted_body ?? '';
  assert.doesNotMatch(html, /<script|<img/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; <b>hi<\/b>/);
  assert.match(html, /<b>&lt;script&gt;alert\(&quot;t&quot;\)&lt;\/script&gt;<\/b>/);
  assert.match(html, /it&#39;s &lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(html, /<li><b>&lt;b&gt;<\/b>: &quot;quoted&quot; &amp; &lt;i&gt;<\/li>/);
  assert.match(html, /<a href="https:\/\/example.com\/%22%3E%3Cscript%3E">&lt;script&gt;<\/a>/);
});

test('javascript: and other non-http(s)/mailto URLs are dropped, their labels kept as text', () => {
  const content = renderRichMessage({
    text: 'click <javascript:alert(1)|here> or <mailto:ops@example.com|mail us>',
    attachments: [
      {
        title: 'Deploy',
        title_link: 'javascript:alert(1)',
        author_name: 'ci',
        author_link: ' \tjavascript:alert(1)',
        image_url: 'data:text/html,<script>',
        actions: [
          { type: 'button', text: 'Bad', url: 'JaVaScRiPt:alert(1)' },
          { type: 'button', text: 'Good', url: 'https://example.com/ok' },
        ],
      },
    ],
  });
  const html = content.formatted_body ?? '';
  assert.doesNotMatch(html, /javascript|data:/i);
  assert.match(html, /click here or <a href="mailto:ops@example.com">mail us<\/a>/);
  assert.match(html, /<b>Deploy<\/b>/);
  assert.match(html, /<a href="https:\/\/example.com\/ok">Good<\/a>/);
  assert.doesNotMatch(html, /Bad/);
  assert.doesNotMatch(content.body, /javascript/i);
});

test("colours: hex codes as given, Slack's good/warning/danger as green/orange/red, junk ignored", () => {
  const bar = (color: unknown) =>
    renderRichMessage({ attachments: [{ title: 'T', color }] }).formatted_body?.match(
      /data-mx-color="([^"]*)"/,
    )?.[1];
  assert.equal(bar('good'), '#2eb886');
  assert.equal(bar('warning'), '#daa038');
  assert.equal(bar('danger'), '#a30200');
  assert.equal(bar('#439FE0'), '#439fe0');
  assert.equal(bar('36a64f'), '#36a64f');
  assert.equal(bar('#3a4'), '#33aa44');
  assert.equal(bar('red" onload="x'), undefined);
  assert.equal(bar(42), undefined);
  assert.equal(renderRichMessage({ attachments: [{ title: 'T' }] }).formatted_body, '<p><b>T</b></p>');
});

test('the rest of an attachment: pretext, author, linked title, image, footer with its time', () => {
  const content = renderRichMessage({
    text: 'Release',
    attachments: [
      {
        pretext: 'New *release*',
        color: 'good',
        author_name: 'CI',
        author_link: 'https://ci.example.com',
        title: 'v1.2',
        title_link: 'https://example.com/v1.2',
        text: 'notes',
        image_url: 'https://example.com/graph.png',
        footer: 'Switchboard',
        ts: 1700000000,
      },
    ],
  });
  assert.equal(
    content.formatted_body,
    '<p>Release</p>' +
      '<p>New <b>release</b></p>' +
      '<p><font data-mx-color="#2eb886">▌</font> <a href="https://ci.example.com/">CI</a></p>' +
      '<p><b><a href="https://example.com/v1.2">v1.2</a></b></p>' +
      '<p>notes</p>' +
      '<p><a href="https://example.com/graph.png">Image</a></p>' +
      '<p><i>Switchboard · 2023-11-14 22:13 UTC</i></p>',
  );
  assert.equal(
    content.body,
    'Release\n\n' +
      'New *release*\nCI (https://ci.example.com/)\nv1.2 (https://example.com/v1.2)\nnotes\n' +
      'Image: https://example.com/graph.png\nSwitchboard · 2023-11-14 22:13 UTC',
  );
});

test("the caller's html goes out as it is, with text or the stripped html as body", () => {
  assert.deepEqual(renderRichMessage({ html: '<p>a &amp; <b>b</b></p><p>c<br>d</p>', text: 'a & b, c d' }), {
    body: 'a & b, c d',
    format: 'org.matrix.custom.html',
    formatted_body: '<p>a &amp; <b>b</b></p><p>c<br>d</p>',
  });
  assert.deepEqual(renderRichMessage({ html: '<p>a &amp; <b>b</b></p><p>c<br>d</p>' }), {
    body: 'a & b\nc\nd',
    format: 'org.matrix.custom.html',
    formatted_body: '<p>a &amp; <b>b</b></p><p>c<br>d</p>',
  });
});

test('junk input does not throw: what can be rendered is, the rest is skipped', () => {
  const content = renderRichMessage({
    text: 42 as unknown as string,
    html: null as unknown as string,
    attachments: [
      null,
      7,
      'text',
      [],
      { title: { nested: true }, fields: 'nope', actions: { url: 'https://x' }, ts: 'soon', color: [] },
      {
        title: 'Kept',
        fields: [null, 3, { title: ['x'] }, { title: 'Count', value: 3 }, { value: 'bare' }],
        actions: [
          null,
          { type: 'select', url: 'https://x' },
          { url: 5 },
          { type: 'button', url: 'https://y' },
        ],
        ts: Number.NaN,
        footer: {},
      },
      { fallback: 'only a fallback' },
    ],
  });
  assert.equal(
    content.formatted_body,
    '<p><b>Kept</b></p><ul><li><b>Count</b>: 3</li><li>bare</li></ul><p><a href="https://y/">https://y/</a></p>' +
      '<p>only a fallback</p>',
  );
  assert.equal(content.body, 'Kept\nCount: 3\nbare\nhttps://y/: https://y/\n\nonly a fallback');
});

test('a message with nothing to render throws the error the pack reports', () => {
  const expected = { name: 'Error', message: 'a rich message needs text, html or attachments' };
  assert.throws(() => renderRichMessage({}), expected);
  assert.throws(() => renderRichMessage({ text: '  ', html: '', attachments: [] }), expected);
  assert.throws(
    () => renderRichMessage({ attachments: [null, {}, { title: null, color: 'good' }] }),
    expected,
  );
  assert.throws(
    () => renderRichMessage(null as unknown as Parameters<typeof renderRichMessage>[0]),
    expected,
  );
});
