/**
 * The dashboard's browser script, as source text (plain ES2020, no build step). It runs after
 * the view-model functions (src/ui/view-model.ts, embedded by dashboard-page.ts) and uses them
 * for every string it shows. Everything rendered goes through textContent or DOM properties,
 * never through HTML parsing (innerHTML and friends are absent; a test checks).
 *
 * Data flow per kind: list (the initial state and a resourceVersion), then watch from it
 * (`?watch=true`, newline-delimited JSON events on a chunked response), resuming from the last
 * seen resourceVersion when the stream ends and relisting on 410 Gone. After three failures in
 * a row a kind falls back to listing every 5 s for a minute, then tries to watch again.
 * Browsers open at most 6 HTTP/1.1 connections per host, and each watch holds one: five kinds
 * are watched and the others (DomainMappings, the Istio kinds, namespaces) are listed every 5 s
 * one after the other over the sixth.
 *
 * The bearer token comes from the URL fragment (`#token=...`, never sent to the server; removed
 * from the address bar at once) or from the token form, and lives in sessionStorage.
 */
export const APP_SCRIPT = String.raw`'use strict';
(function () {
  var WATCHED = ['services', 'revisions', 'pods', 'routes', 'events'];
  var POLLED = ['domainmappings', 'gateways', 'authorizationpolicies', 'peerauthentications'];
  var POLL_MS = 5000;
  var MAX_ROWS = 300;
  var EVENT_ROWS = 60;
  var TOKEN_KEY = 'sluice.ui.token';
  var NS_KEY = 'sluice.ui.namespace';

  var kinds = {};
  dashboardKinds().forEach(function (k) { kinds[k.key] = k; });
  var caches = {};
  var kindState = {};
  var token = '';
  var namespace = '';
  var generation = 0;
  var aborter = null;
  var renderTimer = null;
  var namespaces = [];

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sleep(ms, signal) {
    return new Promise(function (resolve) {
      var t = setTimeout(resolve, ms);
      if (signal) signal.addEventListener('abort', function () { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  function ApiError(code, message) { this.code = code; this.message = message; }

  async function api(path, signal) {
    var res = await fetch(path, { headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' }, signal: signal, cache: 'no-store', credentials: 'omit' });
    if (!res.ok) {
      var msg = res.status + ' ' + res.statusText;
      try { var body = await res.json(); if (body && body.message) msg = String(body.message); } catch (e) { /* not a Status */ }
      throw new ApiError(res.status, msg);
    }
    return res;
  }

  function setKindState(key, state, detail) {
    kindState[key] = { state: state, detail: detail || '' };
    scheduleRender();
  }

  /** Lists a kind into a fresh cache; returns the list's resourceVersion. */
  async function listInto(key, signal) {
    var res = await api(collectionPath(kinds[key], namespace), signal);
    var body = await res.json();
    var cache = new Map();
    var itemKind = body && typeof body.kind === 'string' ? body.kind.replace(/List$/, '') : '';
    (body && Array.isArray(body.items) ? body.items : []).forEach(function (o) {
      if (o && !o.kind && itemKind) o.kind = itemKind;
      cache.set(objectKey(o), o);
    });
    caches[key] = cache;
    scheduleRender();
    return String((body && body.metadata && body.metadata.resourceVersion) || '');
  }

  /** One watch stream: applies events until it ends; returns 'ended' or 'gone'. */
  async function watchOnce(key, rv, signal, onOpen) {
    var path = collectionPath(kinds[key], namespace) + '?watch=true&allowWatchBookmarks=true&timeoutSeconds=' + (240 + Math.floor(Math.random() * 60)) +
      '&resourceVersion=' + encodeURIComponent(rv.value);
    var res = await api(path, signal);
    if (!res.body || typeof res.body.getReader !== 'function') throw new ApiError(0, 'this browser cannot read streamed responses');
    onOpen();
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) return 'ended';
        buffer += decoder.decode(chunk.value, { stream: true });
        var split = splitWatchLines(buffer);
        buffer = split.rest;
        for (var i = 0; i < split.events.length; i++) {
          var ev = split.events[i];
          var outcome = applyWatchEvent(caches[key], ev);
          if (outcome === 'gone') return 'gone';
          if (outcome === 'error') throw new ApiError(ev.object.code || 0, String(ev.object.message || 'watch error'));
          if ((outcome === 'changed' || outcome === 'bookmark') && ev.object.metadata && ev.object.metadata.resourceVersion) rv.value = String(ev.object.metadata.resourceVersion);
          if (outcome === 'changed') scheduleRender();
        }
      }
    } finally {
      // Ends the request; the returned promise rejects when the stream already failed.
      reader.cancel().catch(function () { /* already closed */ });
    }
  }

  async function watchLoop(key, gen, signal) {
    var failures = 0;
    while (gen === generation) {
      try {
        setKindState(key, 'connecting');
        var rv = { value: await listInto(key, signal) };
        for (;;) {
          var outcome = await watchOnce(key, rv, signal, function () { failures = 0; setKindState(key, 'live'); });
          if (gen !== generation) return;
          if (outcome === 'gone') break;
        }
      } catch (e) {
        if (gen !== generation || signal.aborted) return;
        if (e instanceof ApiError && e.code === 401) return unauthorized(e.message);
        if (e instanceof ApiError && (e.code === 403 || e.code === 404)) {
          caches[key] = new Map();
          setKindState(key, 'error', e.message);
          await sleep(30000, signal);
          continue;
        }
        failures++;
        if (failures >= 3) {
          await pollKind(key, gen, signal, 12);
          failures = 0;
          continue;
        }
        setKindState(key, 'retrying', e && e.message ? e.message : String(e));
        await sleep(Math.min(1000 * Math.pow(2, failures), 10000), signal);
      }
    }
  }

  /** List fallback: lists one kind every POLL_MS, rounds times. */
  async function pollKind(key, gen, signal, rounds) {
    for (var i = 0; i < rounds && gen === generation; i++) {
      try {
        await listInto(key, signal);
        setKindState(key, 'polling');
      } catch (e) {
        if (gen !== generation || signal.aborted) return;
        if (e instanceof ApiError && e.code === 401) return unauthorized(e.message);
        setKindState(key, 'error', e && e.message ? e.message : String(e));
      }
      await sleep(POLL_MS, signal);
    }
  }

  async function pollLoop(gen, signal) {
    while (gen === generation) {
      for (var i = 0; i < POLLED.length && gen === generation; i++) {
        var key = POLLED[i];
        try {
          await listInto(key, signal);
          setKindState(key, 'polling');
        } catch (e) {
          if (gen !== generation || signal.aborted) return;
          if (e instanceof ApiError && e.code === 401) return unauthorized(e.message);
          caches[key] = new Map();
          setKindState(key, 'error', e && e.message ? e.message : String(e));
        }
      }
      try {
        var res = await api('/api/v1/namespaces', signal);
        var body = await res.json();
        namespaces = (body.items || []).map(function (n) { return String((n.metadata && n.metadata.name) || ''); }).filter(Boolean).sort();
        renderNamespaces();
      } catch (e) {
        if (gen !== generation || signal.aborted) return;
        // A namespace-scoped token may not list namespaces: the field stays free text.
      }
      await sleep(POLL_MS, signal);
    }
  }

  function start() {
    generation++;
    if (aborter) aborter.abort();
    aborter = new AbortController();
    var gen = generation;
    caches = {};
    kindState = {};
    Object.keys(kinds).forEach(function (k) { caches[k] = new Map(); kindState[k] = { state: 'connecting', detail: '' }; });
    $('login').hidden = true;
    $('main').hidden = false;
    WATCHED.forEach(function (k) { watchLoop(k, gen, aborter.signal); });
    pollLoop(gen, aborter.signal);
    render();
  }

  function stop() {
    generation++;
    if (aborter) aborter.abort();
    aborter = null;
  }

  function unauthorized(message) {
    stop();
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('The API server refused the token (' + message + '). Paste a valid one.');
  }

  function showLogin(message) {
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-message').textContent = message || '';
    $('token-input').value = '';
    $('token-input').focus();
  }

  function scheduleRender() {
    if (renderTimer !== null) return;
    renderTimer = setTimeout(function () { renderTimer = null; render(); }, 150);
  }

  function objects(key) { return sortedObjects(caches[key] || new Map(), namespace); }

  function cell(tr, text, cls, title) {
    var td = el('td', cls, text);
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }
  function readyCell(tr, status, reason, message) {
    var td = cell(tr, status, 'st ' + statusClass(status), message);
    if (reason) td.appendChild(el('span', 'reason', ' ' + reason));
    return td;
  }
  function linkCell(tr, url) {
    var td = el('td');
    if (/^https?:\/\//.test(url)) {
      var a = el('a', '', url);
      a.href = url;
      a.rel = 'noreferrer noopener';
      a.target = '_blank';
      td.appendChild(a);
    } else {
      td.textContent = url;
    }
    tr.appendChild(td);
  }

  function fillTable(id, rows, build, emptyText) {
    var tbody = $(id);
    var trs = [];
    var allNs = namespace === '';
    for (var i = 0; i < rows.length && i < MAX_ROWS; i++) {
      var tr = el('tr');
      if (allNs) cell(tr, rows[i].namespace, 'ns');
      build(tr, rows[i]);
      trs.push(tr);
    }
    var cols = tbody.parentNode.querySelectorAll('thead th').length;
    if (rows.length > MAX_ROWS) {
      var more = el('tr', 'more');
      var td = el('td', '', (rows.length - MAX_ROWS) + ' more not shown; pick a namespace to narrow the list');
      td.colSpan = cols;
      more.appendChild(td);
      trs.push(more);
    }
    if (rows.length === 0) {
      var none = el('tr', 'none');
      var td2 = el('td', '', emptyText);
      td2.colSpan = cols;
      none.appendChild(td2);
      trs.push(none);
    }
    tbody.replaceChildren.apply(tbody, trs);
  }

  function kindNote(key) {
    var s = kindState[key] || { state: 'connecting', detail: '' };
    if (s.state === 'error') return 'cannot read: ' + s.detail + (namespace === '' ? ' (a namespace-scoped token needs a namespace above)' : '');
    return s.state === 'connecting' ? 'loading…' : 'none';
  }

  function render() {
    var now = Date.now();
    document.body.classList.toggle('all-ns', namespace === '');
    var services = objects('services').map(serviceRow);
    var revisions = objects('revisions').map(revisionRow);
    var pods = objects('pods').map(function (p) { return podRow(p, now); });
    var routes = objects('routes').concat(objects('domainmappings')).map(routeRow);
    var events = recentEvents(objects('events'), now, EVENT_ROWS);

    fillTable('services-body', services, function (tr, r) {
      cell(tr, r.name, 'name');
      linkCell(tr, r.url);
      cell(tr, r.latestReady, '', r.latestCreated && r.latestCreated !== r.latestReady ? 'latest created: ' + r.latestCreated : '');
      readyCell(tr, r.ready, r.reason, r.message);
      cell(tr, r.traffic, 'traffic');
    }, kindNote('services'));
    fillTable('revisions-body', revisions, function (tr, r) {
      cell(tr, r.name, 'name');
      cell(tr, r.service);
      readyCell(tr, r.ready, r.reason, r.message);
      cell(tr, (r.actual || '-') + ' / ' + (r.desired || '-'), 'num');
      cell(tr, r.image, 'dim');
    }, kindNote('revisions'));
    fillTable('pods-body', pods, function (tr, r) {
      cell(tr, r.name, 'name');
      cell(tr, r.revision);
      cell(tr, r.status, 'st ' + (r.status === 'Running' || r.status === 'Succeeded' ? 'ok' : r.status === 'Pending' || r.status === 'Terminating' ? 'unknown' : 'bad'), r.message);
      cell(tr, r.ready, 'num');
      cell(tr, r.restarts, 'num' + (r.restarts !== '0' ? ' warn' : ''));
      cell(tr, r.age, 'num');
    }, kindNote('pods'));
    fillTable('routes-body', routes, function (tr, r) {
      cell(tr, r.kind);
      cell(tr, r.name, 'name');
      linkCell(tr, r.url);
      cell(tr, r.target, 'traffic');
      readyCell(tr, r.ready, r.reason, r.message);
    }, kindNote('routes'));
    fillTable('events-body', events, function (tr, r) {
      if (r.warning) tr.className = 'warning';
      cell(tr, r.lastSeen, 'num');
      cell(tr, r.type);
      cell(tr, r.reason);
      cell(tr, r.object, 'name');
      cell(tr, r.message, 'msg');
      cell(tr, r.count, 'num');
    }, kindNote('events'));

    renderSummary(services, revisions, pods, routes, events);
    renderStatus();
  }

  function card(label, value, detail, cls) {
    var c = el('div', 'card' + (cls ? ' ' + cls : ''));
    c.appendChild(el('div', 'value', value));
    c.appendChild(el('div', 'label', label));
    if (detail) c.appendChild(el('div', 'detail', detail));
    return c;
  }

  function renderSummary(services, revisions, pods, routes, events) {
    var readySvc = services.filter(function (r) { return r.ready === 'True'; }).length;
    var readyPods = pods.filter(function (r) { return r.status === 'Running' && r.ready.split('/')[0] === r.ready.split('/')[1]; }).length;
    var warnings = events.filter(function (r) { return r.warning; }).length;
    var cards = [
      card('Services ready', readySvc + ' / ' + services.length, '', readySvc < services.length ? 'bad' : ''),
      card('Revisions', String(revisions.length)),
      card('Pods ready', readyPods + ' / ' + pods.length, '', readyPods < pods.length ? 'bad' : ''),
      card('Routes & DomainMappings', String(routes.length)),
      card('Recent warnings', String(warnings), '', warnings > 0 ? 'warn' : ''),
    ];
    ['gateways', 'authorizationpolicies', 'peerauthentications'].forEach(function (key) {
      var st = kindState[key] || { state: 'connecting' };
      var list = objects(key);
      var names = list.slice(0, 5).map(function (o) { return (namespace ? '' : (o.metadata.namespace || '') + '/') + (o.metadata.name || ''); }).join(', ') + (list.length > 5 ? ', …' : '');
      cards.push(card(kinds[key].label, st.state === 'error' ? '?' : String(list.length), st.state === 'error' ? st.detail : names));
    });
    $('summary').replaceChildren.apply($('summary'), cards);
  }

  function renderStatus() {
    var items = Object.keys(kinds).map(function (key) {
      var s = kindState[key] || { state: 'connecting', detail: '' };
      var b = el('span', 'badge ' + s.state, kinds[key].label + ': ' + s.state);
      if (s.detail) b.title = s.detail;
      return b;
    });
    $('status').replaceChildren.apply($('status'), items);
  }

  function renderNamespaces() {
    var list = $('namespaces');
    list.replaceChildren.apply(list, namespaces.map(function (n) { var o = el('option'); o.value = n; return o; }));
  }

  function init() {
    var fragment = parseFragment(location.hash);
    if (fragment.token) sessionStorage.setItem(TOKEN_KEY, fragment.token);
    if (fragment.namespace) sessionStorage.setItem(NS_KEY, fragment.namespace);
    // The token must not stay in the address bar, the history or a bookmark.
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    token = sessionStorage.getItem(TOKEN_KEY) || '';
    namespace = sessionStorage.getItem(NS_KEY) || '';
    $('ns').value = namespace;
    $('login-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var t = $('token-input').value.trim();
      if (!t) return;
      token = t;
      sessionStorage.setItem(TOKEN_KEY, t);
      start();
    });
    $('ns-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var ns = $('ns').value.trim();
      if (ns === namespace) return;
      namespace = ns;
      sessionStorage.setItem(NS_KEY, ns);
      start();
    });
    $('ns').addEventListener('change', function () { $('ns-form').requestSubmit(); });
    $('forget').addEventListener('click', function () {
      stop();
      token = '';
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('Token forgotten.');
    });
    setInterval(function () { if (token && generation > 0) scheduleRender(); }, 10000);
    if (token) start();
    else showLogin('');
  }

  init();
})();
`;
