/**
 * The /ui dashboard: one self-contained HTML page (inline CSS and scripts, no external assets)
 * and the Content-Security-Policy that allows exactly its inline style and scripts, by hash.
 * The page holds no data: it reads everything from the API with the operator's bearer token.
 */
import { createHash } from 'node:crypto';
import { APP_SCRIPT } from './dashboard-app.ts';
import { VIEW_MODEL_FUNCTIONS } from './view-model.ts';

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --bg: #f6f7f9; --card: #fff; --line: #dde1e7; --dim: #667085;
  --ok: #1a7f37; --bad: #c62828; --unknown: #9a6700; --warn-bg: #fff4e5; --accent: #2f5bd3; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ec; --bg: #14171c; --card: #1c2027; --line: #2e343e; --dim: #98a2b3;
  --ok: #4ac26b; --bad: #ff6b6b; --unknown: #e3b341; --warn-bg: #3a2a10; --accent: #7aa2ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 16px; border-bottom: 1px solid var(--line); background: var(--card); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 16px; margin: 0 12px 0 0; }
header form { display: flex; gap: 6px; align-items: center; margin: 0; }
input, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; }
button { cursor: pointer; }
#status { display: flex; flex-wrap: wrap; gap: 4px; margin-left: auto; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; border: 1px solid var(--line); color: var(--dim); }
.badge.live { color: var(--ok); border-color: var(--ok); }
.badge.polling { color: var(--unknown); border-color: var(--unknown); }
.badge.error, .badge.retrying { color: var(--bad); border-color: var(--bad); }
main, #login { padding: 12px 16px; }
#summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; margin-bottom: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card .value { font-size: 20px; font-weight: 600; }
.card .label { color: var(--dim); }
.card .detail { color: var(--dim); font-size: 11px; overflow-wrap: anywhere; }
.card.bad .value { color: var(--bad); }
.card.warn .value { color: var(--unknown); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin-bottom: 12px; overflow-x: auto; }
section h2 { font-size: 13px; margin: 0; padding: 8px 10px; border-bottom: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--dim); font-weight: 500; white-space: nowrap; }
td.name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
td.dim, .reason { color: var(--dim); }
td.msg { overflow-wrap: anywhere; }
td.st.ok { color: var(--ok); } td.st.bad { color: var(--bad); } td.st.unknown { color: var(--unknown); }
td.warn { color: var(--bad); font-weight: 600; }
tr.warning td { background: var(--warn-bg); }
tr.none td, tr.more td { color: var(--dim); font-style: italic; }
body:not(.all-ns) .ns { display: none; }
a { color: var(--accent); }
#login-message { color: var(--bad); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
`;

const BODY = `
<header>
  <h1>sluice</h1>
  <form id="ns-form" autocomplete="off">
    <label for="ns">Namespace</label>
    <input id="ns" list="namespaces" placeholder="all namespaces" size="18" spellcheck="false">
    <datalist id="namespaces"></datalist>
    <button type="submit">Show</button>
  </form>
  <button id="forget" type="button" title="Remove the token from this tab">Forget token</button>
  <div id="status" aria-live="polite"></div>
</header>
<div id="login" hidden>
  <h2>API token</h2>
  <p>This page reads the sluice API with a bearer token kept in this tab only (sessionStorage).
    <code>sluice ui</code> prints a link that carries the admin token; <code>sluice token create</code> makes a narrower one.</p>
  <p id="login-message"></p>
  <form id="login-form" autocomplete="off">
    <input id="token-input" type="password" size="48" placeholder="bearer token" aria-label="bearer token">
    <button type="submit">Connect</button>
  </form>
</div>
<main id="main" hidden>
  <div id="summary"></div>
  <section><h2>Knative Services</h2><table><thead><tr><th class="ns">Namespace</th><th>Name</th><th>URL</th><th>Latest ready</th><th>Ready</th><th>Traffic</th></tr></thead><tbody id="services-body"></tbody></table></section>
  <section><h2>Revisions</h2><table><thead><tr><th class="ns">Namespace</th><th>Name</th><th>Service</th><th>Ready</th><th>Replicas (actual / desired)</th><th>Image</th></tr></thead><tbody id="revisions-body"></tbody></table></section>
  <section><h2>Pods</h2><table><thead><tr><th class="ns">Namespace</th><th>Name</th><th>Revision</th><th>Status</th><th>Ready</th><th>Restarts</th><th>Age</th></tr></thead><tbody id="pods-body"></tbody></table></section>
  <section><h2>Routes and DomainMappings</h2><table><thead><tr><th class="ns">Namespace</th><th>Kind</th><th>Name</th><th>URL</th><th>Traffic / target</th><th>Ready</th></tr></thead><tbody id="routes-body"></tbody></table></section>
  <section><h2>Recent events</h2><table><thead><tr><th class="ns">Namespace</th><th>Last seen</th><th>Type</th><th>Reason</th><th>Object</th><th>Message</th><th>Count</th></tr></thead><tbody id="events-body"></tbody></table></section>
</main>
`;

/**
 * The view-model functions' source. Under tsx (how sluice runs) esbuild's keepNames wraps some
 * functions in `__name(fn, "name")`; the page defines that helper as the identity.
 */
export const VIEW_MODEL_SCRIPT = `'use strict';\nfunction __name(fn) { return fn; }\n${VIEW_MODEL_FUNCTIONS.map((f) => f.toString()).join('\n')}\n`;

function assertEmbeddable(name: string, text: string): void {
  // Inside <script>/<style> the HTML parser ends the element at the first closing tag.
  if (/<\/(script|style)/i.test(text) || text.includes('<!--')) throw new Error(`dashboard: ${name} cannot be inlined (contains a closing tag or <!--)`);
}
assertEmbeddable('view model', VIEW_MODEL_SCRIPT);
assertEmbeddable('app script', APP_SCRIPT);
assertEmbeddable('style', STYLE);

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sluice dashboard</title>
<style>${STYLE}</style>
</head>
<body class="all-ns">
${BODY}
<script>${VIEW_MODEL_SCRIPT}</script>
<script>${APP_SCRIPT}</script>
</body>
</html>
`;

/**
 * Only this page's own inline style and two scripts run (by hash); fetches go to this origin only;
 * nothing else loads, and the page cannot be framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  `script-src ${sha256(VIEW_MODEL_SCRIPT)} ${sha256(APP_SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
