// The local cloud console: polls the state call and renders it. Every value from the state goes
// into the page through textContent or setAttribute, never as markup, so nothing the cloud holds
// (alarm reasons, release ids, history files) can inject script even past the CSP.
'use strict';

(function () {
  const BASE = '/_localcloud/console/';
  const COOKIE = 'localcloud-client-location';
  const POLL_MS = 1500;
  const YEAR_S = 365 * 24 * 3600;
  const SLOTS = 6;
  // The map's groups, from the location code's prefix; a code no group claims goes to "other".
  const GEOGRAPHY = [
    ['europe', ['eu-']],
    ['north-america', ['us-', 'ca-', 'mx-']],
    ['south-america', ['sa-']],
    ['africa-middle-east', ['af-', 'me-', 'il-']],
    ['asia-pacific', ['ap-']],
  ];

  let timer = null;
  let inFlight = false;
  let pollAgain = false;
  let knownLocations = new Map(); // location code -> its row of the state
  let homeRegion = null;
  let regionSlots = new Map(); // region env -> its border pattern on the map (console.css has SLOTS)
  let detailTile = null; // the location whose rule path the line under the map shows

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
      const l = knownLocations.get(picked);
      const routed = l.region ? ', routed to ' + l.region + (l.env ? ' (' + l.env + ')' : '') : '';
      text = picked + ' — ' + l.location_name + routed;
    } else if (picked !== null && knownLocations.size) {
      text = 'home region: the cookie holds "' + picked + '", not a region code, so the entry ignores it';
    }
    setText($('#picked'), text);
    for (const tile of document.querySelectorAll('#locations [data-location]')) {
      const isPicked = tile.getAttribute('data-location') === picked;
      setAttr(tile, 'data-picked', isPicked ? 'true' : 'false');
      const button = tile.querySelector('[data-pick]');
      if (button) {
        setAttr(button, 'aria-pressed', isPicked ? 'true' : 'false');
        setText(button.querySelector('.word'), isPicked ? 'your pick' : '');
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
        setAttr(row, 'data-slot', slotOf(r.env));
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

  // --- the map of client locations ---------------------------------------------------------

  function geographyOf(code) {
    for (const [geography, prefixes] of GEOGRAPHY) {
      if (prefixes.some((prefix) => code.startsWith(prefix))) {
        return geography;
      }
    }
    return 'other';
  }

  // "Europe (Frankfurt)" -> "Frankfurt", "Canada (Central)" -> "Canada Central": the group names the rest.
  function shortName(name) {
    const match = /^(.*?)\s*\(([^()]*)\)$/.exec(name);
    if (!match || !match[1]) {
      return name;
    }
    return match[2] === 'Central' ? match[1] + ' Central' : match[2];
  }

  function slotOf(env) {
    return env && regionSlots.has(env) ? String(regionSlots.get(env) % SLOTS) : 'none';
  }

  function answerOf(l) {
    if (l.region === null) {
      return 'none';
    }
    return l.healthy ? 'healthy' : 'failed-open';
  }

  function ruleText(l) {
    const parts = [l.location + ' — ' + l.location_name];
    if (l.region) {
      parts.push('routed to ' + l.region + (l.env ? ' (' + l.env + ')' : ', a region not served here'));
      parts.push(l.healthy ? 'a healthy answer' : 'nothing healthy: Route 53 failed open');
    } else {
      parts.push(l.error || 'no answer');
    }
    const rule = [l.path.join(' → '), l.via].filter(Boolean).join(' · ');
    parts.push('rule path: ' + (rule || '—'));
    return parts.join('; ');
  }

  function showDetail(tile) {
    detailTile = tile;
    setText($('#location-detail'), field(tile, 'rule').textContent);
  }

  function makeTile(l) {
    const tile = el('li', { class: 'tile' });
    const id = 'location-' + l.location.replace(/[^A-Za-z0-9_-]/g, '_') + '-rule';
    const button = el('button', {
      type: 'button', 'data-pick': l.location, 'aria-pressed': 'false', 'aria-describedby': id,
    });
    button.appendChild(el('span', { class: 'name', 'data-field': 'name' }));
    button.appendChild(el('span', { class: 'word' }));
    button.appendChild(el('span', { class: 'code' }, l.location));
    const to = el('span', { class: 'to' });
    to.appendChild(el('span', { 'aria-hidden': 'true' }, '→ '));
    to.appendChild(el('span', { class: 'visually-hidden' }, 'routed to '));
    to.appendChild(el('strong', { 'data-field': 'env' }));
    button.appendChild(to);
    button.appendChild(el('span', { class: 'region', 'data-field': 'region' }));
    button.appendChild(el('span', { class: 'answer', 'data-field': 'answer', 'data-state': 'bad' }));
    button.addEventListener('click', () => setPick(l.location));
    tile.appendChild(button);
    // The rule path: the button's description, and the line under the map on hover or focus.
    tile.appendChild(el('span', { id: id, class: 'visually-hidden', 'aria-hidden': 'true', 'data-field': 'rule' }));
    tile.addEventListener('mouseenter', () => showDetail(tile));
    tile.addEventListener('focusin', () => showDetail(tile));
    return tile;
  }

  function updateTile(tile, l) {
    setAttr(tile, 'data-routed-region', l.region || '');
    setAttr(tile, 'data-routed-env', l.env || '');
    setAttr(tile, 'data-slot', slotOf(l.env));
    setAttr(tile, 'data-answer', answerOf(l));
    setText(field(tile, 'name'), shortName(l.location_name));
    setText(field(tile, 'env'), l.region ? l.env || 'not served' : '');
    setText(field(tile, 'region'), l.region ? l.region : '');
    const answer = l.region === null ? l.error || 'no answer' : l.healthy ? '' : 'failed open';
    setText(field(tile, 'answer'), answer);
    setText(field(tile, 'rule'), ruleText(l));
  }

  function renderLocations(locations) {
    const groups = new Map();
    for (const l of locations) {
      const geography = geographyOf(l.location);
      if (!groups.has(geography)) {
        groups.set(geography, []);
      }
      groups.get(geography).push(l);
    }
    for (const section of document.querySelectorAll('#locations [data-geo]')) {
      const items = groups.get(section.getAttribute('data-geo')) || [];
      keyedRows(section.querySelector('.tiles'), 'data-location', items, (l) => l.location, makeTile, updateTile);
      setText(section.querySelector('.count'), items.length ? '· ' + items.length : '');
      if (section.hasAttribute('hidden') === Boolean(items.length)) {
        section.toggleAttribute('hidden', !items.length);
      }
    }
    knownLocations = new Map(locations.map((l) => [l.location, l]));
    if (detailTile && detailTile.isConnected) {
      showDetail(detailTile);
    }
    renderPick();
  }

  function renderLegend(regions, locations) {
    keyedRows($('#region-legend'), 'data-legend-env', regions, (r) => r.env,
      () => {
        const item = el('li');
        item.appendChild(el('span', { class: 'swatch', 'aria-hidden': 'true' }));
        item.appendChild(el('strong', { 'data-field': 'env' }));
        item.appendChild(el('span', { 'data-field': 'text' }));
        return item;
      },
      (item, r) => {
        const count = locations.filter((l) => l.env === r.env).length;
        setAttr(item, 'data-slot', slotOf(r.env));
        setText(field(item, 'env'), r.env);
        setText(field(item, 'text'), ' ' + r.region + ' · ' + count + (count === 1 ? ' location' : ' locations'));
      });
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

  function alarmLook(state) {
    return state === 'ALARM' ? 'bad' : state === 'OK' ? 'ok' : 'warn';
  }

  function alarmWhere(a) {
    return a.region + (a.env ? ' (' + a.env + ')' : '');
  }

  function renderAlarmSummary(alarms) {
    const summary = $('#alarm-summary');
    const count = (state) => alarms.filter((a) => a.state === state).length;
    const parts = [];
    if (alarms.length) {
      const inAlarm = count('ALARM');
      const insufficient = count('INSUFFICIENT_DATA');
      const other = alarms.length - count('OK') - inAlarm - insufficient;
      parts.push([count('OK') + ' OK', 'ok']);
      parts.push([inAlarm + ' in ALARM', inAlarm ? 'bad' : 'none']);
      parts.push([insufficient + ' insufficient data', insufficient ? 'warn' : 'none']);
      if (other) {
        parts.push([other + ' in another state', 'warn']);
      }
      setAttr(summary, 'data-state', inAlarm ? 'bad' : insufficient || other ? 'warn' : 'ok');
    } else {
      parts.push(['No alarms in the served regions yet.', 'none']);
      setAttr(summary, 'data-state', 'none');
    }
    if (summary.textContent !== parts.map((part) => part[0]).join(', ')) {
      const nodes = [];
      parts.forEach(([text, look], index) => {
        if (index) {
          nodes.push(document.createTextNode(', '));
        }
        nodes.push(el('span', { 'data-state': look }, text));
      });
      summary.replaceChildren(...nodes);
    }
    setText($('#alarm-count'), '(' + alarms.length + ')');
  }

  function renderAlarms(alarms) {
    const rows = alarms.map((a) => {
      const row = el('tr', { 'data-alarm': a.name, 'data-region': a.env || a.region, 'data-state': a.state });
      row.appendChild(el('td', {}, alarmWhere(a)));
      row.appendChild(el('th', { scope: 'row' }, a.name));
      row.appendChild(el('td', { 'data-field': 'state', 'data-state': alarmLook(a.state) }, a.state));
      row.appendChild(el('td', {}, a.updated_at || ''));
      row.appendChild(el('td', {}, a.reason));
      return row;
    });
    replaceRows($('#alarms tbody'), rows, 5, 'No alarms in the served regions yet.');
    renderAlarmSummary(alarms);
    // Only what needs a look is listed by default; every alarm is in the table under <details>.
    const attention = alarms.filter((a) => a.state !== 'OK').map((a) => {
      const item = el('li', { 'data-alarm': a.name, 'data-alarm-state': a.state });
      item.appendChild(el('strong', { class: 'state', 'data-state': alarmLook(a.state) }, a.state));
      item.appendChild(el('span', { class: 'where' }, alarmWhere(a)));
      item.appendChild(el('span', { class: 'alarm-name' }, a.name));
      const since = a.updated_at ? 'since ' + a.updated_at + ': ' : '';
      item.appendChild(el('span', { class: 'reason' }, since + (a.reason || '')));
      return item;
    });
    $('#alarm-attention').replaceChildren(...attention);
    $('#alarm-attention').toggleAttribute('hidden', !attention.length);
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
    regionSlots = new Map(state.regions.map((r, index) => [r.env, index]));
    renderHeader(state);
    renderRegions(state.regions);
    renderFaults(state.regions, state.fault_kinds);
    renderLocations(state.locations);
    renderLegend(state.regions, state.locations);
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
