// The local cloud console: polls the state call and renders it. Every value from the state goes
// into the page through textContent or setAttribute, never as markup, so nothing the cloud holds
// (alarm reasons, release ids, history files) can inject script even past the CSP.
'use strict';

(function () {
  const BASE = '/_localcloud/console/';
  const COOKIE = 'localcloud-client-location';
  const POLL_MS = 1500;
  const YEAR_S = 365 * 24 * 3600;

  let timer = null;
  let inFlight = false;
  let pollAgain = false;
  let knownLocations = new Set();
  let homeRegion = null;

  function $(selector) {
    return document.querySelector(selector);
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      node.setAttribute(name, String(value));
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  // Writes only on change: rows that stay put keep their focus, and screen readers are not
  // told about text that did not change.
  function setText(node, text) {
    const value = text === null || text === undefined ? '' : String(text);
    if (node.textContent !== value) {
      node.textContent = value;
    }
  }

  function setAttr(node, name, value) {
    const text = value === null || value === undefined ? '' : String(value);
    if (node.getAttribute(name) !== text) {
      node.setAttribute(name, text);
    }
  }

  // Rows keyed by a data attribute are created once and updated in place: rebuilding them would
  // take the keyboard focus away from a button every poll.
  function keyedRows(tbody, attr, items, keyOf, make, update) {
    const existing = new Map();
    for (const row of Array.from(tbody.children)) {
      const key = row.getAttribute(attr);
      if (key === null) {
        row.remove();
      } else {
        existing.set(key, row);
      }
    }
    const wanted = new Set();
    items.forEach((item, index) => {
      const key = String(keyOf(item));
      wanted.add(key);
      let row = existing.get(key);
      if (!row) {
        row = make(item);
        row.setAttribute(attr, key);
      }
      if (tbody.children[index] !== row) {
        tbody.insertBefore(row, tbody.children[index] || null);
      }
      update(row, item);
    });
    for (const [key, row] of existing) {
      if (!wanted.has(key)) {
        row.remove();
      }
    }
  }

  function cells(row, fields) {
    for (const field of fields) {
      row.appendChild(el('td', { 'data-field': field }));
    }
    return row;
  }

  function field(row, name) {
    return row.querySelector('[data-field="' + name + '"]');
  }

  function replaceRows(tbody, rows, columns, emptyText) {
    tbody.replaceChildren(...rows);
    if (!rows.length) {
      const row = el('tr', { 'data-empty': 'true' });
      row.appendChild(el('td', { colspan: columns }, emptyText));
      tbody.appendChild(row);
    }
  }

  // --- the client location cookie -----------------------------------------------------------

  function pickedLocation() {
    for (const part of document.cookie.split(';')) {
      const [name, ...rest] = part.split('=');
      if (name.trim() === COOKIE) {
        try {
          return decodeURIComponent(rest.join('=').trim());
        } catch (error) {
          return rest.join('=').trim();
        }
      }
    }
    return null;
  }

  function setPick(location) {
    // Path=/ and no Domain: the browser sends it to every port of this host, the global entry's too.
    const value = location === null ? '; Max-Age=0' : '; Max-Age=' + YEAR_S;
    document.cookie = COOKIE + '=' + encodeURIComponent(location || '') + '; Path=/; SameSite=Lax' + value;
    renderPick();
  }

  function renderPick() {
    const picked = pickedLocation();
    let text = 'home region' + (homeRegion ? ' (' + homeRegion + ')' : '') + ', no pick';
    if (picked !== null && knownLocations.has(picked)) {
      text = picked;
    } else if (picked !== null && knownLocations.size) {
      text = 'home region: the cookie holds "' + picked + '", not a region code, so the entry ignores it';
    }
    setText($('#picked'), text);
    for (const row of document.querySelectorAll('#locations tbody tr[data-location]')) {
      const isPicked = row.getAttribute('data-location') === picked;
      setAttr(row, 'data-picked', isPicked ? 'true' : 'false');
      const button = row.querySelector('[data-pick]');
      if (button) {
        setAttr(button, 'aria-pressed', isPicked ? 'true' : 'false');
        setText(button.querySelector('.word'), isPicked ? 'Picked' : 'Pick');
      }
    }
  }

  // --- fault buttons ------------------------------------------------------------------------

  async function control(name, body) {
    const response = await fetch('/_localcloud/' + name, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      answer = null;
    }
    if (!response.ok) {
      const reason = answer && typeof answer.message === 'string' ? answer.message : 'HTTP ' + response.status;
      throw new Error(reason);
    }
    return answer;
  }

  async function onFaultButton(button) {
    const env = button.getAttribute('data-env');
    const kind = button.getAttribute('data-fault-button');
    const group = button.closest('[data-region]');
    const message = $('#message');
    setAttr(group, 'aria-busy', 'true');
    try {
      if (kind === 'heal') {
        const answer = await control('heal', { env: env });
        const healed = answer && Array.isArray(answer.healed) && answer.healed.length;
        setText(message, env + ': ' + (healed ? 'healed' : 'had no fault to heal'));
      } else {
        await control('fault', { env: env, kind: kind });
        setText(message, env + ': ' + kind + ' injected');
      }
      setAttr(message, 'data-state', 'ok');
    } catch (error) {
      setText(message, env + ': ' + kind + ' failed: ' + error.message);
      setAttr(message, 'data-state', 'bad');
    } finally {
      group.removeAttribute('aria-busy');
      pollSoon(0);
    }
  }

  // --- rendering ----------------------------------------------------------------------------

  function faultText(fault) {
    if (!fault) {
      return 'none';
    }
    if (fault.kind === 'slow') {
      return 'slow (+' + fault.latency_ms + ' ms)';
    }
    if (fault.kind === 'errors') {
      return 'errors (' + Math.round(fault.error_rate * 100) + '% answer 503)';
    }
    return fault.kind;
  }

  function apiHealthText(api) {
    const word = api.ok ? 'healthy' : 'failing';
    return word + ': ' + api.detail + (api.answer ? ', ' + api.answer : '');
  }

  function route53Text(route53) {
    if (!route53.checks.length) {
      return route53.state;
    }
    const failing = route53.checks.find((check) => !check.healthy);
    const count = route53.checks.length + (route53.checks.length === 1 ? ' check' : ' checks');
    return route53.state + ' (' + count + ')' + (failing && failing.last ? ': ' + failing.last : '');
  }

  function servesText(serves) {
    if (serves.state === 'serving') {
      return 'serving (' + serves.locations + (serves.locations === 1 ? ' location)' : ' locations)');
    }
    return serves.state;
  }

  function replicationList(cell, entries) {
    if (!entries.length) {
      setText(cell, 'nothing replicated yet');
      return;
    }
    const list = el('ul', { class: 'lag' });
    for (const entry of entries) {
      let text = 'to ' + entry.receiving_region + ': ';
      text += entry.latest_ms === null ? 'no value yet' : entry.latest_ms + ' ms (' + entry.age_s + ' s ago)';
      if (entry.pending) {
        text += ', ' + entry.pending + ' queued, oldest ' + (entry.oldest_pending_ms / 1000).toFixed(1) + ' s';
      }
      list.appendChild(el('li', {
        'data-receiving-region': entry.receiving_region,
        'data-table': entry.table,
        'data-state': entry.pending ? 'warn' : 'ok',
      }, text));
    }
    const current = cell.textContent;
    if (current !== list.textContent || !cell.firstElementChild) {
      cell.replaceChildren(list);
    }
  }

  function renderRegions(regions) {
    keyedRows($('#regions tbody'), 'data-region', regions, (r) => r.env,
      () => cells(el('tr'), ['env', 'region', 'release', 'api-health', 'route53', 'serves', 'fault', 'replication']),
      (row, r) => {
        setAttr(row, 'data-aws-region', r.region);
        setAttr(row, 'data-api-health', r.api_health.ok ? 'healthy' : 'failing');
        setAttr(row, 'data-route53', r.route53.state);
        setAttr(row, 'data-serves', r.serves.state);
        setAttr(row, 'data-fault', r.fault ? r.fault.kind : 'none');
        setText(field(row, 'env'), r.env);
        setText(field(row, 'region'), r.region);
        setText(field(row, 'release'), r.release || 'unknown');
        setText(field(row, 'api-health'), apiHealthText(r.api_health));
        setAttr(field(row, 'api-health'), 'data-state', r.api_health.ok ? 'ok' : 'bad');
        setText(field(row, 'route53'), route53Text(r.route53));
        setAttr(field(row, 'route53'), 'data-state',
          r.route53.healthy === null ? 'none' : r.route53.healthy ? 'ok' : 'bad');
        setText(field(row, 'serves'), servesText(r.serves));
        setAttr(field(row, 'serves'), 'data-state', r.serves.state === 'serving' ? 'ok' : 'warn');
        setText(field(row, 'fault'), faultText(r.fault));
        setAttr(field(row, 'fault'), 'data-state', r.fault ? 'bad' : 'ok');
        replicationList(field(row, 'replication'), r.replication || []);
      });
  }

  function renderFaults(regions, kinds) {
    const holder = $('#faults');
    const existing = new Map(Array.from(holder.children).map((node) => [node.getAttribute('data-region'), node]));
    const wanted = new Set();
    regions.forEach((r, index) => {
      wanted.add(r.env);
      let group = existing.get(r.env);
      if (!group) {
        group = el('fieldset', { 'data-region': r.env });
        const legend = el('legend');
        legend.appendChild(el('span', { 'data-field': 'name' }, r.env + ' (' + r.region + ')'));
        legend.appendChild(document.createTextNode(' · current fault: '));
        legend.appendChild(el('span', { 'data-field': 'fault' }));
        group.appendChild(legend);
        for (const kind of kinds.concat(['heal'])) {
          const button = el('button', { type: 'button', 'data-fault-button': kind, 'data-env': r.env });
          button.appendChild(el('span', {}, kind));
          button.appendChild(el('span', { class: 'visually-hidden' }, ' ' + r.env));
          button.addEventListener('click', () => onFaultButton(button));
          group.appendChild(button);
        }
      }
      if (holder.children[index] !== group) {
        holder.insertBefore(group, holder.children[index] || null);
      }
      setText(group.querySelector('[data-field="fault"]'), faultText(r.fault));
      setAttr(group, 'data-fault', r.fault ? r.fault.kind : 'none');
      for (const button of group.querySelectorAll('[data-fault-button]')) {
        const kind = button.getAttribute('data-fault-button');
        if (kind !== 'heal') {
          setAttr(button, 'aria-pressed', r.fault && r.fault.kind === kind ? 'true' : 'false');
        }
      }
    });
    for (const [env, group] of existing) {
      if (!wanted.has(env)) {
        group.remove();
      }
    }
  }

  function renderLocations(locations) {
    keyedRows($('#locations tbody'), 'data-location', locations, (l) => l.location,
      (l) => {
        const row = el('tr');
        row.appendChild(el('th', { scope: 'row', 'data-field': 'location' }, l.location + ' — ' + l.location_name));
        cells(row, ['routed', 'path', 'answer']);
        const pick = el('td', { 'data-field': 'pick' });
        const button = el('button', { type: 'button', 'data-pick': l.location, 'aria-pressed': 'false' });
        button.appendChild(el('span', { class: 'word' }, 'Pick'));
        button.appendChild(el('span', { class: 'visually-hidden' }, ' ' + l.location));
        button.addEventListener('click', () => setPick(l.location));
        pick.appendChild(button);
        row.appendChild(pick);
        return row;
      },
      (row, l) => {
        setAttr(row, 'data-routed-region', l.region || '');
        setAttr(row, 'data-routed-env', l.env || '');
        const served = l.env ? ' (' + l.env + ')' : ' (not served here)';
        const routed = l.region ? l.region + served : (l.error || 'no answer');
        setText(field(row, 'routed'), routed);
        setAttr(field(row, 'routed'), 'data-state', l.region ? 'ok' : 'bad');
        const via = l.via ? ' · ' + l.via : '';
        setText(field(row, 'path'), l.path.length ? l.path.join(' → ') + via : (l.via || '—'));
        const answer = l.region === null ? '—' : l.healthy ? 'healthy' : 'nothing healthy: Route 53 failed open';
        setText(field(row, 'answer'), answer);
        setAttr(field(row, 'answer'), 'data-state', l.region === null ? 'none' : l.healthy ? 'ok' : 'bad');
      });
    knownLocations = new Set(locations.map((l) => l.location));
    renderPick();
  }

  function renderTraffic(regions) {
    keyedRows($('#traffic tbody'), 'data-region', regions, (r) => r.env,
      () => cells(el('tr'), ['env', 'region', 'requests', 'errors-4xx', 'errors-5xx', 'share']),
      (row, r) => {
        const t = r.traffic || { requests: 0, errors_4xx: 0, errors_5xx: 0 };
        setText(field(row, 'env'), r.env);
        setText(field(row, 'region'), r.region);
        setText(field(row, 'requests'), r.traffic ? t.requests : 'unknown');
        setText(field(row, 'errors-4xx'), t.errors_4xx);
        setText(field(row, 'errors-5xx'), t.errors_5xx);
        const share = t.requests ? (100 * t.errors_5xx / t.requests).toFixed(1) + '%' : 'no requests';
        setText(field(row, 'share'), share);
        setAttr(field(row, 'share'), 'data-state', t.errors_5xx ? 'bad' : 'ok');
      });
  }

  function renderAlarms(alarms) {
    const rows = alarms.map((a) => {
      const row = el('tr', { 'data-alarm': a.name, 'data-region': a.env || a.region, 'data-state': a.state });
      row.appendChild(el('td', {}, a.region + (a.env ? ' (' + a.env + ')' : '')));
      row.appendChild(el('th', { scope: 'row' }, a.name));
      const look = a.state === 'ALARM' ? 'bad' : a.state === 'OK' ? 'ok' : 'warn';
      row.appendChild(el('td', { 'data-field': 'state', 'data-state': look }, a.state));
      row.appendChild(el('td', {}, a.updated_at || ''));
      row.appendChild(el('td', {}, a.reason));
      return row;
    });
    replaceRows($('#alarms tbody'), rows, 5, 'No alarms in the served regions yet.');
  }

  function renderHistory(history) {
    const rows = history.map((h) => {
      const row = el('tr', { 'data-release': h.release || '', 'data-status': h.status || '' });
      row.appendChild(el('td', {}, h.at || ''));
      row.appendChild(el('td', {}, h.action || ''));
      row.appendChild(el('th', { scope: 'row' }, h.release || ''));
      const look = h.status === 'complete' ? 'ok' : 'warn';
      row.appendChild(el('td', { 'data-field': 'status', 'data-state': look }, h.status || ''));
      row.appendChild(el('td', {}, h.regions.map((r) => r.env + (r.status ? ': ' + r.status : '')).join(', ')));
      return row;
    });
    replaceRows($('#history tbody'), rows, 5, 'No rollouts recorded yet.');
  }

  function renderDrills(drills) {
    const rows = drills.map((d) => {
      const row = el('tr', {
        'data-drill': d.run_id || '', 'data-region': d.env || '', 'data-ok': d.ok ? 'true' : 'false',
      });
      row.appendChild(el('td', {}, d.at));
      row.appendChild(el('th', { scope: 'row' }, (d.env || '') + (d.region ? ' (' + d.region + ')' : '')));
      row.appendChild(el('td', {}, d.mode || ''));
      row.appendChild(el('td', { 'data-field': 'result', 'data-state': d.ok ? 'ok' : 'bad' },
        d.ok ? 'passed' : 'failed'));
      row.appendChild(el('td', {}, d.failover_s === null ? '—' : d.failover_s + ' s'));
      row.appendChild(el('td', {}, d.problems.length ? d.problems.join('; ') : 'none'));
      return row;
    });
    replaceRows($('#drills tbody'), rows, 6, 'No drills recorded yet.');
  }

  function renderHeader(state) {
    const link = $('#global-link');
    try {
      // The page's own host name, so the pick's cookie (scoped by host) goes with the request.
      const entry = new URL(state.global_url);
      const href = window.location.protocol + '//' + window.location.hostname + ':' + entry.port + '/';
      setAttr(link, 'href', href);
      setText(link, href);
    } catch (error) {
      setText(link, 'unknown');
    }
    setText($('#routed-name'), state.routed_name || 'none (deploy the routing stack)');
    const updated = $('#updated');
    setAttr(updated, 'datetime', state.generated_at);
    setText(updated, state.generated_at);
    const problems = state.problems.map((p) => el('li', {}, p));
    $('#problems').replaceChildren(...problems);
  }

  function render(state) {
    homeRegion = state.home_region;
    renderHeader(state);
    renderRegions(state.regions);
    renderFaults(state.regions, state.fault_kinds);
    renderLocations(state.locations);
    renderTraffic(state.regions);
    renderAlarms(state.alarms);
    renderHistory(state.history);
    renderDrills(state.drills);
  }

  function connection(ok, text) {
    const node = $('#connection');
    setAttr(node, 'data-state', ok ? 'ok' : 'bad');
    setText(node, text);
  }

  // --- polling ------------------------------------------------------------------------------

  function pollSoon(delay) {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  async function poll() {
    if (inFlight) {
      pollAgain = true;
      return;
    }
    inFlight = true;
    try {
      const response = await fetch(BASE + 'state', { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      render(await response.json());
      connection(true, 'Live: updated every ' + POLL_MS / 1000 + ' s');
    } catch (error) {
      connection(false, 'The supervisor does not answer (' + error.message + '); retrying');
    } finally {
      inFlight = false;
      if (!document.hidden) {
        pollSoon(pollAgain ? 0 : POLL_MS);
      }
      pollAgain = false;
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) {
      pollSoon(0);
    }
  });

  document.addEventListener('DOMContentLoaded', () => {
    $('#pick-clear').addEventListener('click', () => setPick(null));
    poll();
  });
})();
