// The demo site. Every piece of data is written with textContent, never as markup: an item's data
// is whatever a client sent, and must never run here as HTML or script.
"use strict";

const PAGE_SIZE = 10;
const REPLICATION_TIMEOUT_MS = 30000;
const POLL_MS = 250;
const REFRESH_MS = 5000;
const MAX_CALLS = 20;

const state = {
  directory: { regions: [] },
  cursor: null,        // the cursor of the page shown
  nextCursor: null,
  pageNumber: 1,
  watch: 0,            // the replication watch in progress; a newer write ends the older one
  pending: null,       // the save refused with 412: {id, data}
};

const $ = (id) => document.getElementById(id);

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function ms(value) {
  return `${Math.round(value)} ms`;
}

// --- calls to the API this page came from (the global entry, or one region) ----------------------

async function call(method, path, body, headers) {
  const init = { method, headers: { Accept: "application/json", ...(headers || {}) } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const started = performance.now();
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    logCall(method, path, "no answer", "-", performance.now() - started);
    throw error;
  }
  const latency = performance.now() - started;
  const region = response.headers.get("x-served-by-region") || "unknown";
  logCall(method, path, String(response.status), region, latency);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  return { status: response.status, data, region, latency };
}

function logCall(method, path, status, region, latency) {
  const body = $("calls").tBodies[0];
  const row = document.createElement("tr");
  row.dataset.region = region;
  cell(row, new Date().toLocaleTimeString());
  cell(row, `${method} ${path}`);
  cell(row, status);
  cell(row, region);
  cell(row, ms(latency));
  body.insertBefore(row, body.firstChild);
  while (body.rows.length > MAX_CALLS) body.deleteRow(body.rows.length - 1);
  if (region !== "-") {
    $("current-region").textContent = region;
    $("current-latency").textContent = `in ${ms(latency)}`;
  }
}

function errorText(result) {
  const message = result.data && typeof result.data.message === "string" ? result.data.message : "";
  return `${result.status}${message ? `: ${message}` : ""}`;
}

// --- items ------------------------------------------------------------------------------------

async function loadItems() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.cursor) query.set("cursor", state.cursor);
  let result;
  try {
    result = await call("GET", `/items?${query}`);
  } catch (_) {
    return;  // logged as "no answer"; the next refresh tries again
  }
  if (result.status !== 200 || !result.data) return;
  state.nextCursor = result.data.cursor || null;
  $("next-page").disabled = !state.nextCursor;
  $("page-label").textContent = state.pageNumber === 1 ? "first page" : `page ${state.pageNumber}`;
  const body = $("item-list").tBodies[0];
  body.replaceChildren();
  for (const item of result.data.items) {
    const row = document.createElement("tr");
    row.dataset.itemId = item.id;
    cell(row, item.id);
    cell(row, JSON.stringify(item.data), "data");
    cell(row, String(item.version));
    cell(row, item.origin_region || "");
    const actions = cell(row, "");
    actions.append(
      button("Edit", () => edit(item)),
      button("Delete", () => remove(item)),
    );
    actions.firstChild.setAttribute("aria-label", `Edit ${item.id}`);
    actions.lastChild.setAttribute("aria-label", `Delete ${item.id}`);
    body.appendChild(row);
  }
}

function edit(item) {
  $("item-id").value = item.id;
  $("item-id").readOnly = true;
  $("item-data").value = JSON.stringify(item.data, null, 2);
  $("item-version").value = String(item.version);
  $("form-legend").textContent = `Edit ${item.id} (version ${item.version})`;
  $("form-message").textContent = "";
  $("item-data").focus();
}

function newItem() {
  $("item-form").reset();
  $("item-id").readOnly = false;
  $("item-version").value = "";
  $("form-legend").textContent = "New item";
  $("form-message").textContent = "";
  $("item-id").focus();
}

async function save(event) {
  event.preventDefault();
  const id = $("item-id").value.trim();
  let data;
  try {
    data = JSON.parse($("item-data").value);
  } catch (_) {
    $("form-message").textContent = "Data is not valid JSON.";
    return;
  }
  if (!id) {
    $("form-message").textContent = "An id is needed.";
    return;
  }
  await put(id, data, $("item-version").value || null);
}

async function put(id, data, ifMatch) {
  const headers = ifMatch ? { "If-Match": `"${ifMatch}"` } : {};
  let result;
  try {
    result = await call("PUT", `/items/${encodeURIComponent(id)}`, { data }, headers);
  } catch (_) {
    $("form-message").textContent = "No answer from the API.";
    return;
  }
  if (result.status === 412) {
    await showConflict(id, data);
    return;
  }
  if (result.status !== 200 && result.status !== 201) {
    $("form-message").textContent = `Not saved: ${errorText(result)}`;
    return;
  }
  $("form-message").textContent = "";
  $("conflict").hidden = true;
  edit(result.data);
  watchReplication(id, result.data.version, result.region);
  await loadItems();
}

async function remove(item) {
  let result;
  try {
    result = await call("DELETE", `/items/${encodeURIComponent(item.id)}`, undefined,
      { "If-Match": `"${item.version}"` });
  } catch (_) {
    return;
  }
  if (result.status === 412) {
    await showConflict(item.id, null);
    return;
  }
  if (result.status === 204) watchReplication(item.id, null, result.region);
  await loadItems();
}

// --- a 412: show the current version and let the person choose --------------------------------

async function showConflict(id, mine) {
  const current = await call("GET", `/items/${encodeURIComponent(id)}`);
  state.pending = { id, data: mine, version: current.status === 200 ? current.data.version : null };
  $("conflict-version").textContent = current.status === 200 ? String(current.data.version) : "deleted";
  $("conflict-over").textContent = current.status === 200 ? String(current.data.version) : "none";
  $("conflict-theirs").textContent = current.status === 200 ? JSON.stringify(current.data.data, null, 2)
    : "(the item was deleted)";
  $("conflict-mine").textContent = mine === null ? "(delete it)" : JSON.stringify(mine, null, 2);
  $("conflict").hidden = false;
  $("conflict-overwrite").disabled = current.status !== 200;
  $("conflict-keep").focus();
  await loadItems();  // the list shows the version that won, too
}

async function overwrite() {
  const pending = state.pending;
  if (!pending || pending.version === null) return;
  state.pending = null;
  $("conflict").hidden = true;
  if (pending.data === null) {
    await remove({ id: pending.id, version: pending.version });
  } else {
    await put(pending.id, pending.data, String(pending.version));
  }
}

async function keepCurrent() {
  const pending = state.pending;
  state.pending = null;
  $("conflict").hidden = true;
  if (!pending) return;
  const current = await call("GET", `/items/${encodeURIComponent(pending.id)}`);
  if (current.status === 200) edit(current.data); else newItem();
  await loadItems();
}

// --- replication, read through each region's own API -------------------------------------------

function regionalGet(url) {
  const started = performance.now();
  return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
    .then(async (response) => {
      let data = null;
      try { data = await response.json(); } catch (_) { data = null; }
      return { status: response.status, data, latency: performance.now() - started };
    });
}

function arrived(result, version) {
  if (version === null) return result.status === 404;  // a delete has arrived once the item is gone
  return result.status === 200 && result.data && Number(result.data.version) >= version;
}

function watchReplication(id, version, writtenIn) {
  const watch = ++state.watch;
  const acknowledged = performance.now();
  const regions = state.directory.regions;
  $("replication-note").textContent = regions.length
    ? `${version === null ? "Delete of" : "Version " + version + " of"} ${id}, written in ${writtenIn}:`
    : "No region directory: the replicas cannot be read from this page.";
  const body = $("replication").tBodies[0];
  body.replaceChildren();
  for (const entry of regions) {
    const row = document.createElement("tr");
    row.dataset.region = entry.region;
    cell(row, entry.region);
    const status = cell(row, "waiting", "state-wait");
    const lag = cell(row, "");
    body.appendChild(row);
    const poll = async () => {
      if (watch !== state.watch) return;
      let result = null;
      try {
        result = await regionalGet(`${entry.url}/items/${encodeURIComponent(id)}`);
      } catch (_) {
        result = null;  // refused (a region down, or CORS for this origin): keep trying until timeout
      }
      if (watch !== state.watch) return;
      if (result && arrived(result, version)) {
        status.textContent = "arrived";
        status.className = "state-ok";
        lag.textContent = ms(performance.now() - acknowledged);
        row.dataset.state = "arrived";
        return;
      }
      if (performance.now() - acknowledged > REPLICATION_TIMEOUT_MS) {
        status.textContent = result ? "not arrived after 30 s" : "unreachable from this page";
        status.className = "state-bad";
        row.dataset.state = "timeout";
        return;
      }
      setTimeout(poll, POLL_MS);
    };
    poll();
  }
}

// --- region health ----------------------------------------------------------------------------

async function refreshHealth() {
  const body = $("health").tBodies[0];
  const rows = await Promise.all(state.directory.regions.map(async (entry) => {
    const row = document.createElement("tr");
    row.dataset.region = entry.region;
    cell(row, entry.region);
    try {
      const result = await regionalGet(`${entry.url}/health`);
      const healthy = result.status === 200;
      const word = healthy ? "healthy" : `unhealthy (${result.status}${result.data && result.data.reason ? `: ${result.data.reason}` : ""})`;
      cell(row, word, healthy ? "state-ok" : "state-bad");
      cell(row, result.data && result.data.release ? String(result.data.release) : "");
      cell(row, ms(result.latency));
      row.dataset.state = healthy ? "healthy" : "unhealthy";
    } catch (_) {
      cell(row, "unreachable", "state-bad");
      cell(row, "");
      cell(row, "");
      row.dataset.state = "unreachable";
    }
    return row;
  }));
  body.replaceChildren(...rows);
}

async function loadDirectory() {
  try {
    const result = await call("GET", "/site/config.json");
    if (result.status === 200 && result.data) state.directory = result.data;
  } catch (_) {
    state.directory = { regions: [], problem: "the API did not answer" };
  }
  $("directory-note").textContent = state.directory.problem
    ? `Only this region is shown: ${state.directory.problem}.`
    : `${state.directory.regions.length} regions in the directory.`;
}

// --- wiring -----------------------------------------------------------------------------------

function every(ms, work) {
  const tick = async () => {
    try { await work(); } finally { setTimeout(tick, ms); }
  };
  setTimeout(tick, ms);
}

document.addEventListener("DOMContentLoaded", async () => {
  $("item-form").addEventListener("submit", save);
  $("new-item").addEventListener("click", newItem);
  $("conflict-overwrite").addEventListener("click", overwrite);
  $("conflict-keep").addEventListener("click", keepCurrent);
  $("refresh").addEventListener("click", loadItems);
  $("first-page").addEventListener("click", () => {
    state.cursor = null;
    state.pageNumber = 1;
    loadItems();
  });
  $("next-page").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursor = state.nextCursor;
    state.pageNumber += 1;
    loadItems();
  });
  await loadDirectory();
  await Promise.all([loadItems(), refreshHealth()]);
  every(REFRESH_MS, refreshHealth);
  every(REFRESH_MS, () => ($("auto-refresh").checked ? loadItems() : null));
  document.body.dataset.ready = "true";
});
