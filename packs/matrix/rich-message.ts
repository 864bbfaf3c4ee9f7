/**
 * Renders the Matrix pack's SendRichMessage (Slack-style text with mrkdwn, and Slack's legacy secondary
 * attachments, https://docs.slack.dev/messaging/formatting-message-text) as the content of an
 * m.room.message: a plain-text `body` and an `org.matrix.custom.html` `formatted_body`.
 *
 * Invariants: the HTML uses only tags and attributes from the subset the Matrix spec recommends
 * (https://spec.matrix.org/latest/client-server-api/#mroommessage-msgtypes); every string taken from the
 * input is escaped before it reaches the HTML; an href is only ever an http(s) or mailto URL. Odd input
 * (numbers, nulls, nested junk) degrades to what can be rendered and never throws, except when nothing at
 * all can be rendered.
 */

export interface MatrixMessageContent {
  body: string;
  format?: 'org.matrix.custom.html';
  formatted_body?: string;
}

/** Part of a message rendered both ways. */
interface Rendered {
  html: string;
  plain: string;
}

/** Slack's text rendered, with whether it holds anything that needs HTML to show. */
interface RenderedText extends Rendered {
  formatted: boolean;
  /** Holds a block element (<pre>), so it cannot sit inside a <p>. */
  hasBlock: boolean;
}

/**
 * `html`, when given, is the caller's and goes out as `formatted_body` untouched (attachments are appended
 * after it); `body` is then `text`, or the html with its tags stripped.
 * Throws `Error('a rich message needs text, html or attachments')` when there is nothing to render.
 */
export function renderRichMessage(input: {
  text?: string;
  html?: string;
  attachments?: unknown[];
}): MatrixMessageContent {
  const source: Record<string, unknown> = isRecord(input) ? input : {};
  const text = nonBlankString(source.text);
  const html = nonBlankString(source.html);
  const attachments = (Array.isArray(source.attachments) ? source.attachments : [])
    .map(renderAttachment)
    .filter((attachment) => attachment !== undefined);
  const renderedText = text === undefined ? undefined : renderMrkdwn(text);

  if (html === undefined && attachments.length === 0) {
    if (renderedText === undefined) throw new Error('a rich message needs text, html or attachments');
    // Plain messages stay plain: no formatted_body that would only repeat the body.
    if (!renderedText.formatted) return { body: renderedText.plain };
    return { body: renderedText.plain, format: HTML_FORMAT, formatted_body: renderedText.html };
  }

  const sections: Rendered[] = [];
  if (html !== undefined) sections.push({ html, plain: renderedText?.plain ?? htmlToPlain(html) });
  else if (renderedText !== undefined) sections.push({ html: wrap(renderedText), plain: renderedText.plain });
  sections.push(...attachments);
  return {
    body: sections
      .map((section) => section.plain)
      .filter((plain) => plain !== '')
      .join('\n\n'),
    format: HTML_FORMAT,
    formatted_body: sections.map((section) => section.html).join(''),
  };
}

const HTML_FORMAT = 'org.matrix.custom.html';

/**
 * Slack's named attachment colours, as Slack draws them. Matrix clients draw no borders, so the colour goes
 * on a bar-shaped character before the attachment's first line.
 */
const NAMED_COLOURS = new Map([
  ['good', '#2eb886'],
  ['warning', '#daa038'],
  ['danger', '#a30200'],
]);

/** One line of an attachment: inline content to wrap in a <p> or <div>, or block-level content as it is. */
interface Line extends Rendered {
  wrapper: 'p' | 'div' | 'none';
}

/** One legacy attachment, or undefined when none of its fields can be rendered. */
function renderAttachment(value: unknown): Rendered | undefined {
  if (!isRecord(value)) return undefined;
  const lines: Line[] = [];

  const author = stringValue(value.author_name);
  if (author !== undefined) {
    lines.push({ ...linked(escapeHtml(author), author, safeUrl(value.author_link)), wrapper: 'p' });
  }

  const title = stringValue(value.title);
  if (title !== undefined) {
    const titleLink = safeUrl(value.title_link);
    const inner = titleLink === undefined ? escapeHtml(title) : anchor(titleLink, escapeHtml(title));
    lines.push({
      html: `<b>${inner}</b>`,
      plain: titleLink === undefined ? title : `${title} (${titleLink})`,
      wrapper: 'p',
    });
  }

  const text = stringValue(value.text);
  if (text !== undefined) lines.push(asLine(renderMrkdwn(text)));

  const fields = renderFields(value.fields);
  if (fields !== undefined) lines.push({ ...fields, wrapper: 'none' });

  const image = safeUrl(value.image_url) ?? safeUrl(value.thumb_url);
  // Not <img>: the spec has clients load only mxc:// sources, so an http(s) image would show as nothing.
  if (image !== undefined) {
    lines.push({ html: anchor(image, 'Image'), plain: `Image: ${image}`, wrapper: 'p' });
  }

  const buttons = renderButtons(value.actions);
  if (buttons !== undefined) lines.push({ ...buttons, wrapper: 'p' });

  const footer = [stringValue(value.footer), timestamp(value.ts)].filter((part) => part !== undefined);
  if (footer.length > 0) {
    lines.push({ html: `<i>${escapeHtml(footer.join(' · '))}</i>`, plain: footer.join(' · '), wrapper: 'p' });
  }

  // Slack's fallback is the plain summary for clients that cannot show the rest: here, the last resort.
  const fallback = stringValue(value.fallback);
  if (lines.length === 0 && fallback !== undefined) {
    lines.push({ html: escapeHtml(fallback), plain: fallback, wrapper: 'p' });
  }
  if (lines.length === 0) return undefined;

  const colour = colourOf(value.color);
  if (colour !== undefined) {
    const bar = `<font data-mx-color="${colour}">▌</font>`;
    const first = lines[0];
    if (first !== undefined && first.wrapper !== 'none') first.html = `${bar} ${first.html}`;
    else lines.unshift({ html: bar, plain: '', wrapper: 'p' });
  }

  // Pretext goes above the attachment, outside its bar, as in Slack.
  const pretext = stringValue(value.pretext);
  if (pretext !== undefined) lines.unshift(asLine(renderMrkdwn(pretext)));

  return {
    html: lines
      .map(({ html, wrapper }) => (wrapper === 'none' ? html : `<${wrapper}>${html}</${wrapper}>`))
      .join(''),
    plain: lines
      .map((line) => line.plain)
      .filter((plain) => plain !== '')
      .join('\n'),
  };
}

/** `fields: [{title, value, short}]` as a list of `<b>title</b>: value`; `short` has no meaning here. */
function renderFields(value: unknown): Rendered | undefined {
  if (!Array.isArray(value)) return undefined;
  const items: Rendered[] = [];
  for (const field of value) {
    if (!isRecord(field)) continue;
    const title = stringValue(field.title);
    const fieldValue = stringValue(field.value);
    const rendered = fieldValue === undefined ? undefined : renderMrkdwn(fieldValue);
    if (title !== undefined && rendered !== undefined) {
      items.push({
        html: `<b>${escapeHtml(title)}</b>: ${rendered.html}`,
        plain: `${title}: ${rendered.plain}`,
      });
    } else if (title !== undefined) {
      items.push({ html: `<b>${escapeHtml(title)}</b>`, plain: title });
    } else if (rendered !== undefined) {
      items.push(rendered);
    }
  }
  if (items.length === 0) return undefined;
  return {
    html: `<ul>${items.map((item) => `<li>${item.html}</li>`).join('')}</ul>`,
    plain: items.map((item) => item.plain).join('\n'),
  };
}

/**
 * Buttons that open a URL become links. Buttons without one would call back to a Slack app, which Matrix
 * has no way to do, so they are left out; so is `style`.
 */
function renderButtons(value: unknown): Rendered | undefined {
  if (!Array.isArray(value)) return undefined;
  const links: Rendered[] = [];
  for (const action of value) {
    if (!isRecord(action) || (action.type !== undefined && action.type !== 'button')) continue;
    const url = safeUrl(action.url);
    if (url === undefined) continue;
    const label = stringValue(action.text) ?? url;
    links.push({ html: anchor(url, escapeHtml(label)), plain: `${label}: ${url}` });
  }
  if (links.length === 0) return undefined;
  return {
    html: links.map((link) => link.html).join(' · '),
    plain: links.map((link) => link.plain).join('\n'),
  };
}

function linked(html: string, plain: string, url: string | undefined): Rendered {
  return url === undefined ? { html, plain } : { html: anchor(url, html), plain: `${plain} (${url})` };
}

/** `url` must come from safeUrl; `labelHtml` must already be escaped. */
function anchor(url: string, labelHtml: string): string {
  return `<a href="${escapeHtml(url)}">${labelHtml}</a>`;
}

function asLine(text: RenderedText): Line {
  return { html: text.html, plain: text.plain, wrapper: text.hasBlock ? 'div' : 'p' };
}

/** A <pre> cannot sit inside a <p>. */
function wrap(text: RenderedText): string {
  return text.hasBlock ? `<div>${text.html}</div>` : `<p>${text.html}</p>`;
}

/** Epoch seconds (a number or a numeric string, as Slack sends `ts`) as `2024-05-01 12:00 UTC`. */
function timestamp(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() === '') return undefined; // Number('') is 0: 1970
  const seconds = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  const date = new Date(seconds * 1000);
  if (!Number.isFinite(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A `#rrggbb` colour, from a hex code (`#36a64f`, `36a64f`, `#3a4`) or one of Slack's names. */
function colourOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const wanted = value.trim().toLowerCase();
  const named = NAMED_COLOURS.get(wanted);
  if (named !== undefined) return named;
  const hex = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/.exec(wanted)?.[1];
  if (hex === undefined) return undefined;
  return `#${hex.length === 3 ? [...hex].map((digit) => digit + digit).join('') : hex}`;
}

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/**
 * The URL as the WHATWG parser reads it, or undefined unless it is http(s) or mailto. Returning the parsed
 * `href`, not the input, means what was checked is exactly what a client will follow (the parser drops
 * tabs, newlines and leading spaces that could hide a `javascript:` scheme).
 */
function safeUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const url = URL.parse(value.trim());
  return url !== null && SAFE_PROTOCOLS.has(url.protocol) ? url.href : undefined;
}

/**
 * Slack mrkdwn: ```pre```, `code`, <url|label> links and <@U123> mentions are found first, on the raw text;
 * the text between them is escaped and only then given *bold*, _italic_ and ~strike~, so no markup from
 * the input survives.
 */
function renderMrkdwn(source: string): RenderedText {
  const text = source.replace(/\r\n?/g, '\n');
  let html = '';
  let plain = '';
  let formatted = false;
  let hasBlock = false;
  let last = 0;
  for (const match of text.matchAll(/```([\s\S]*?)```|`([^`\n]+)`|<([^<>\n]*)>/g)) {
    const between = renderInline(text.slice(last, match.index));
    html += between.html;
    plain += between.plain;
    formatted ||= between.formatted;
    last = match.index + match[0].length;
    const [whole, pre, code, bracketed] = match;
    if (pre !== undefined) {
      // Slack writes ```\ncode\n```; the newlines next to the fences are not part of the code.
      const content = decodeSlackEntities(pre.replace(/^\n/, '').replace(/\n$/, ''));
      html += `<pre><code>${escapeHtml(content)}</code></pre>`;
      plain += whole;
      formatted = hasBlock = true;
    } else if (code !== undefined) {
      html += `<code>${escapeHtml(decodeSlackEntities(code))}</code>`;
      plain += whole;
      formatted = true;
    } else {
      const reference = renderBracketed(bracketed ?? '');
      html += reference.html;
      plain += reference.plain;
      formatted ||= reference.formatted;
    }
  }
  const rest = renderInline(text.slice(last));
  return {
    html: html + rest.html,
    plain: plain + rest.plain,
    formatted: formatted || rest.formatted,
    hasBlock,
  };
}

/** What Slack puts in angle brackets: a mention, a channel, a special like !here, or a link. */
function renderBracketed(inner: string): { html: string; plain: string; formatted: boolean } {
  const bar = inner.indexOf('|');
  const target = decodeSlackEntities(bar === -1 ? inner : inner.slice(0, bar));
  const label = bar === -1 ? undefined : decodeSlackEntities(inner.slice(bar + 1)) || undefined;
  const asText = (shown: string) => ({ html: escapeHtml(shown), plain: shown, formatted: false });

  // <@U123> and <#C123|general> stay as text: Slack's ids mean nothing in a Matrix room.
  if (target.startsWith('@') || target.startsWith('#')) {
    return asText(label === undefined ? target : `${target[0]}${label.replace(/^[@#]/, '')}`);
  }
  // <!here>, <!channel>, <!subteam^S123|@team>, <!date^...|fallback>
  if (target.startsWith('!')) return asText(label ?? `@${target.slice(1)}`);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) return asText(`<${inner}>`); // not Slack markup: literal text
  const url = safeUrl(target);
  // Links of any other scheme (javascript:, data:, ...) are dropped; their label, if any, stays as text.
  if (url === undefined) return asText(label ?? '');
  const shown = label ?? target;
  return {
    html: anchor(url, escapeHtml(shown)),
    plain: label === undefined || label === target ? target : `${label} (${target})`,
    formatted: true,
  };
}

/** Plain text between Slack's markup: escaped, then emphasis, then line breaks. */
function renderInline(source: string): { html: string; plain: string; formatted: boolean } {
  const plain = decodeSlackEntities(source);
  const escaped = escapeHtml(plain);
  const emphasised = emphasis(emphasis(emphasis(escaped, '*', 'b'), '_', 'i'), '~', 's');
  return { html: emphasised.replace(/\n/g, '<br>'), plain, formatted: emphasised !== escaped };
}

/**
 * `*x*` to `<b>x</b>` and so on, only where Slack would: the marker is not inside a word and the content
 * neither starts nor ends with a space. Content never spans a tag (`<` and `>` here can only be ours,
 * since the text was escaped), so the tags always nest.
 */
function emphasis(escaped: string, marker: string, tag: string): string {
  const m = `\\${marker}`;
  const pattern = new RegExp(
    `(?<![\\w${m}])${m}([^\\s${m}<>](?:[^${m}\\n<>]*[^\\s${m}<>])?)${m}(?![\\w${m}])`,
    'g',
  );
  return escaped.replace(pattern, `<${tag}>$1</${tag}>`);
}

/**
 * Slack asks senders to write &, < and > in text as &amp;, &lt; and &gt;
 * (https://docs.slack.dev/messaging/formatting-message-text#escaping). Decoding them before escaping shows
 * them as Slack would, and leaves text from senders who did not escape unchanged.
 */
function decodeSlackEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

const NAMED_ENTITIES = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['nbsp', ' '],
]);

/** A readable plain-text version of the caller's HTML, for `body`: tags dropped, blocks as line breaks. */
function htmlToPlain(html: string): string {
  return html
    .replace(/<(script|style|mx-reply)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6]|blockquote|pre|table|ul|ol|details|summary)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, name: string) => {
      if (!name.startsWith('#')) return NAMED_ENTITIES.get(name.toLowerCase()) ?? entity;
      const code =
        name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A string with something in it, or a finite number as text; anything else is treated as absent. */
function stringValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return nonBlankString(value);
}

function nonBlankString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
