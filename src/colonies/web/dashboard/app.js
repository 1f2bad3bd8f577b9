// The ColonyOS dashboard: one page, views chosen by the URL fragment (#/overview, #/processes/…),
// every request signed here (signer.js) and sent over the /rpc WebSocket (rpc.js). Live: each
// second the page asks again for what is on screen and patches only the parts that changed, so
// inputs keep their focus and nothing flickers.
//
// Sign-in arrives either from the form or from the fragment (#prvkey=…&colony=…[&serverprvkey=…]
// [&readonly=1]), which browsers never send to the server; the fragment is wiped from the address
// bar and history at once and the keys are kept in sessionStorage (this tab only).
import { idFromPrivateKey, keyProblem } from "./signer.js";
import { RpcError, RpcSocket } from "./rpc.js";
import { barChart, nodeState, timeChart, workflowGraph } from "./charts.js";

const STATES = ["waiting", "running", "successful", "failed", "cancelled"]; // index = wire value
const EXECUTOR_STATES = ["pending", "approved", "rejected", "unregistered"];
const ATTRIBUTE_TYPES = ["in", "out", "err", "env"];
const SESSION_KEY = "colonies.dashboard.session";
const SAMPLES_KEY = "colonies.dashboard.samples";
const REFRESH_MS = 1000;
const CHART_WINDOW_MS = 5 * 60 * 1000;
const MAX_SAMPLES = 1800;
const LIST_COUNT = 100; // the server's largest page (MAX_COUNT)

// What tests (and curious people in the console) can read: no keys here.
const model = (window.dashboard = {
  booted: false,
  signedIn: false,
  colony: "",
  id: "",
  readonly: false,
  view: "",
  connection: "connecting",
  updates: 0,
  lastUpdate: 0,
  error: "",
  signinError: "",
});

// --------------------------------------------------------------------------------------------
// Small helpers

const $ = (selector, root = document) => root.querySelector(selector);
const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const short = (id) => (id ? `${String(id).slice(0, 8)}…` : "—");
const json = (value) => esc(JSON.stringify(value ?? null, null, 2));

function parseTime(text) {
  if (!text || text.startsWith("0001-01-01")) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function duration(ms) {
  if (ms == null || ms < 0) return "—";
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function ago(text) {
  const ms = parseTime(text);
  if (ms == null) return "never";
  const delta = Date.now() - ms;
  return delta < 1500 ? "just now" : `${duration(delta)} ago`;
}

function stamp(text) {
  const ms = parseTime(text);
  return ms == null ? "—" : new Date(ms).toLocaleString();
}

function badge(state) {
  return `<span class="badge ${esc(state)}">${esc(state)}</span>`;
}

/** Set an element's markup only when it differs from what it shows (keeps focus and scroll). */
function patch(id, html) {
  const el = document.getElementById(id);
  if (el && el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
}

function table(columns, rows, empty) {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const head = columns.map((c) => `<th>${esc(c)}</th>`).join("");
  const body = rows
    .map((row) => {
      const href = row.href
        ? ` data-href="${esc(row.href)}" class="link-row"`
        : row.fill ? ` data-fill="${esc(JSON.stringify(row.fill))}" class="link-row"` : "";
      const cells = row.cells
        .map((cell, i) => `<td data-label="${esc(columns[i])}">${cell}</td>`)
        .join("");
      return `<tr${href}>${cells}</tr>`;
    })
    .join("");
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function query(params) {
  const entries = Object.entries(params).filter(([, v]) => v);
  return entries.length ? `?${new URLSearchParams(entries)}` : "";
}

function friendly(error) {
  if (error instanceof RpcError) {
    if (error.status === 0) return `Cannot reach the server: ${error.message}.`;
    return `${error.message} (HTTP ${error.status})`;
  }
  return String(error?.message || error);
}

// --------------------------------------------------------------------------------------------
// Session and connection

let session = null;

function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    return saved && saved.prvkey && saved.colony ? saved : null;
  } catch {
    return null;
  }
}

function saveSession() {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

const socketUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/rpc`;
const rpc = new RpcSocket(socketUrl, {
  onState: (state) => {
    model.connection = state;
    showLive();
  },
});

/** One signed call with the session's member key. */
function call(msgtype, fields = {}, prvkey = session?.prvkey) {
  return rpc.call({ msgtype, ...fields }, prvkey);
}

function showLive() {
  const el = $("#live");
  if (!el) return;
  const fresh = Date.now() - model.lastUpdate < 3 * REFRESH_MS;
  const state =
    model.connection !== "open" ? model.connection : model.error ? "error" : fresh ? "live" : "connecting";
  el.dataset.state = state;
  const text = { live: "Live", connecting: "Connecting", reconnecting: "Reconnecting…", error: "Error" };
  $("#live-text").textContent = text[state] || state;
  el.title =
    model.lastUpdate > 0
      ? `Last update ${new Date(model.lastUpdate).toLocaleTimeString()} over the /rpc WebSocket`
      : "Updates arrive over a WebSocket every second";
}

// --------------------------------------------------------------------------------------------
// Sign in

function describeSignInError(error, id, colony) {
  const message = friendly(error);
  if (error instanceof RpcError && error.status !== 0) {
    if (/does not exist|not exist/i.test(error.message) && /colony/i.test(error.message)) {
      return `There is no colony named "${colony}" on this server.`;
    }
    if (error.status === 403 || /access denied/i.test(error.message)) {
      return (
        `This key (ID ${short(id)}) is not a member of colony "${colony}": the server refused it ` +
        `(${error.message}). Use the private key of an approved executor or user of the colony.`
      );
    }
  }
  return message;
}

async function signIn({ prvkey, colony, serverprvkey = "", readonly = false, readonlyLocked = false }) {
  prvkey = String(prvkey || "").trim().toLowerCase();
  serverprvkey = String(serverprvkey || "").trim().toLowerCase();
  colony = String(colony || "").trim();
  if (!colony) throw new Error("Enter the name of the colony to open.");
  const problem = keyProblem(prvkey);
  if (problem) throw new Error(`Private key: ${problem}`);
  if (serverprvkey) {
    const serverProblem = keyProblem(serverprvkey);
    if (serverProblem) throw new Error(`Server key: ${serverProblem}`);
  }
  const id = idFromPrivateKey(prvkey);
  try {
    await call("getcolonymsg", { colonyname: colony }, prvkey);
  } catch (error) {
    throw new Error(describeSignInError(error, id, colony));
  }
  if (serverprvkey) {
    try {
      await call("getcoloniesmsg", {}, serverprvkey);
    } catch (error) {
      const why = error instanceof RpcError && error.status === 403
        ? `this is not the server owner's key (ID ${short(idFromPrivateKey(serverprvkey))})`
        : friendly(error);
      throw new Error(`Server key: ${why}.`);
    }
  }
  session = { prvkey, colony, serverprvkey, readonly, readonlyLocked, id };
  saveSession();
}

function showSignIn(error = "", colony = "") {
  model.signedIn = false;
  model.signinError = error;
  $("#boot").hidden = true;
  $("#shell").hidden = true;
  $("#signin").hidden = false;
  if (colony) $("#signin-colony").value = colony;
  const box = $("#signin-error");
  box.textContent = error;
  box.hidden = !error;
  (colony ? $("#signin-prvkey") : $("#signin-colony")).focus();
}

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("#signin-submit");
  button.disabled = true;
  button.textContent = "Signing in…";
  try {
    await signIn({
      prvkey: $("#signin-prvkey").value,
      colony: $("#signin-colony").value,
      serverprvkey: $("#signin-serverprvkey").value,
      readonly: $("#signin-readonly").checked,
    });
    $("#signin-prvkey").value = "";
    $("#signin-serverprvkey").value = "";
    showShell();
  } catch (error) {
    showSignIn(error.message, $("#signin-colony").value);
  } finally {
    button.disabled = false;
    button.textContent = "Sign in";
  }
});

$("#signout").addEventListener("click", () => {
  session = null;
  saveSession();
  sessionStorage.removeItem(SAMPLES_KEY);
  samples.length = 0;
  location.hash = "";
  showSignIn();
});

$("#readonly-toggle").addEventListener("click", () => {
  if (!session || session.readonlyLocked) return;
  session.readonly = !session.readonly;
  saveSession();
  applyReadonly();
  renderView();
});

function applyReadonly() {
  const readonly = Boolean(session?.readonly);
  model.readonly = readonly;
  document.body.classList.toggle("readonly", readonly);
  const toggle = $("#readonly-toggle");
  toggle.setAttribute("aria-pressed", String(readonly));
  toggle.textContent = readonly ? "Read-only" : "Editing";
  toggle.disabled = Boolean(session?.readonlyLocked);
  toggle.title = session?.readonlyLocked
    ? "This link opens the dashboard read-only"
    : readonly
      ? "Read-only: controls that change something are hidden. Click to allow changes."
      : "Click to hide every control that changes something";
}

function showShell() {
  model.signedIn = true;
  model.signinError = "";
  model.colony = session.colony;
  model.id = session.id;
  $("#boot").hidden = true;
  $("#signin").hidden = true;
  $("#shell").hidden = false;
  const chip = $("#colony-chip");
  chip.textContent = session.colony;
  chip.title = `Colony ${session.colony}, signed in as ${session.id}`;
  applyReadonly();
  if (!location.hash.startsWith("#/")) history.replaceState(null, "", "#/overview");
  renderView();
}

// --------------------------------------------------------------------------------------------
// Statistics over time: one sample per refresh, kept for this tab (sessionStorage)

const samples = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(SAMPLES_KEY) || "[]");
  } catch {
    return [];
  }
})();
let stats = null;
let lastSaved = 0;

async function sampleStatistics() {
  stats = await call("getcolonystatsmsg", { colonyname: session.colony });
  const now = Date.now();
  samples.push([now, stats.waitingprocesses, stats.runningprocesses, stats.successfulprocesses,
    stats.failedprocesses, stats.cancelledprocesses, stats.activeexecutors]);
  while (samples.length > MAX_SAMPLES || (samples.length && samples[0][0] < now - 30 * 60 * 1000)) {
    samples.shift();
  }
  if (now - lastSaved > 5000) {
    lastSaved = now;
    sessionStorage.setItem(SAMPLES_KEY, JSON.stringify(samples));
  }
  const active = stats.waitingprocesses + stats.runningprocesses;
  $("#nav-active").textContent = active ? String(active) : "";
}

/** The chart's span: since the first sample (at least a minute), at most CHART_WINDOW_MS. */
function chartWindow() {
  const since = samples.length ? Date.now() - samples[0][0] : 0;
  return Math.min(CHART_WINDOW_MS, Math.max(60 * 1000, since));
}

function queueChart() {
  const times = samples.map((s) => s[0]);
  return timeChart(times, [
    { name: "waiting", cls: "waiting", values: samples.map((s) => s[1]) },
    { name: "running", cls: "running", values: samples.map((s) => s[2]) },
  ], { windowMs: chartWindow() });
}

function throughputChart() {
  const windowMs = chartWindow();
  const bin = windowMs <= 60 * 1000 ? 2000 : windowMs <= 180 * 1000 ? 5000 : 10000;
  const bins = new Map();
  for (let i = 1; i < samples.length; i++) {
    const [t, , , ok, failed, cancelled] = samples[i];
    const [, , , ok0, failed0, cancelled0] = samples[i - 1];
    const key = Math.ceil(t / bin) * bin;
    const entry = bins.get(key) || { t: key, values: {} };
    const add = (name, delta) => {
      if (delta > 0) entry.values[name] = (entry.values[name] || 0) + delta;
    };
    add("successful", ok - ok0);
    add("failed", failed - failed0);
    add("cancelled", cancelled - cancelled0);
    bins.set(key, entry);
  }
  return barChart([...bins.values()], ["successful", "failed", "cancelled"], {
    windowMs,
    binMs: bin,
  });
}

function legend(names) {
  return `<div class="legend">${names.map((n) => `<span><i class="swatch ${n}"></i>${n}</span>`).join("")}</div>`;
}

// --------------------------------------------------------------------------------------------
// Caches shared by views (refreshed by the views that show them)

let executors = [];
let functions = [];

async function loadExecutors() {
  [executors, functions] = await Promise.all([
    call("getexecutorsmsg", { colonyname: session.colony }).then((list) => list || []),
    call("getfunctionsmsg", { colonyname: session.colony, executorname: "" }).then((list) => list || []),
  ]);
}

function executorName(id) {
  const found = executors.find((e) => e.executorid === id);
  return found ? found.executorname : short(id);
}

// --------------------------------------------------------------------------------------------
// Views: `frame` draws the static part once per visit, `refresh` fills its regions every second

function processRows(list, state) {
  return list.map((p) => {
    const submitted = parseTime(p.submissiontime);
    const started = parseTime(p.starttime);
    const ended = parseTime(p.endtime);
    const time =
      state === "waiting" ? duration(Date.now() - submitted)
        : state === "running" ? duration(Date.now() - started)
          : started && ended ? duration(ended - started) : "—";
    return {
      href: `#/process/${p.processid}`,
      cells: [
        `<a href="#/process/${esc(p.processid)}" class="strong">${esc(p.spec?.funcname || "(no function)")}</a>` +
          `<div class="mono muted small">${esc(short(p.processid))}</div>`,
        esc(p.spec?.conditions?.executortype || "—"),
        p.spec?.label ? `<span class="tag">${esc(p.spec.label)}</span>` : "—",
        esc(p.initiatorname || short(p.initiatorid)),
        esc(ago(p.submissiontime)),
        esc(time),
        badge(STATES[p.state] || String(p.state)),
      ],
    };
  });
}
const PROCESS_COLUMNS = ["Function", "Executor type", "Label", "Initiator", "Submitted", "Time", "State"];

const views = {
  overview: {
    title: () => "Overview",
    frame: () => `
      <section id="ov-cards" class="cards"></section>
      <section class="grid-2">
        <div class="card"><div class="card-head"><h2>Queue</h2>${legend(["waiting", "running"])}</div><div id="ov-queue" class="chart-box"></div></div>
        <div class="card"><div class="card-head"><h2>Completed</h2>${legend(["successful", "failed", "cancelled"])}</div><div id="ov-throughput" class="chart-box"></div></div>
      </section>
      <p class="muted small chart-note">The charts are sampled every second while this tab is open (up to 30 minutes kept, the last 5 shown).</p>
      <section class="grid-2">
        <div class="card"><div class="card-head"><h2>Running now</h2><a href="#/processes/running">All running →</a></div><div id="ov-running"></div></div>
        <div class="card"><div class="card-head"><h2>Recent failures</h2><a href="#/processes/failed">All failed →</a></div><div id="ov-failed"></div></div>
      </section>`,
    async refresh() {
      const [running, failed] = await Promise.all([
        call("getprocessesmsg", { colonyname: session.colony, state: 1, count: 6, executortype: "", label: "", initiator: "" }),
        call("getprocessesmsg", { colonyname: session.colony, state: 3, count: 6, executortype: "", label: "", initiator: "" }),
      ]);
      const s = stats;
      const card = (label, value, cls, href, sub = "") =>
        `<a class="card stat ${cls}" href="${href}"><span class="stat-label">${label}</span><span class="stat-value">${value}</span><span class="stat-sub">${sub}</span></a>`;
      patch("ov-cards", [
        card("Waiting", s.waitingprocesses, "waiting", "#/processes/waiting", "processes in the queue"),
        card("Running", s.runningprocesses, "running", "#/processes/running", "processes"),
        card("Successful", s.successfulprocesses, "successful", "#/processes/successful", "processes"),
        card("Failed", s.failedprocesses, "failed", "#/processes/failed", "processes"),
        card("Executors", `${s.activeexecutors}<small> / ${s.executors}</small>`, "executors", "#/executors", "active / registered"),
        card("Workflows", s.runningworkflows + s.waitingworkflows, "workflows", "#/workflows/running",
          `${s.successfulworkflows} done, ${s.failedworkflows} failed`),
      ].join(""));
      patch("ov-queue", queueChart());
      patch("ov-throughput", throughputChart());
      const compact = (list, state) => table(["Function", "Executor type", "Time", "State"],
        processRows(list || [], state).map((row) => ({ ...row, cells: [0, 1, 5, 6].map((i) => row.cells[i]) })),
        state === "running" ? "Nothing is running." : "No failed processes.");
      patch("ov-running", compact(running, "running"));
      patch("ov-failed", compact(failed, "failed"));
    },
  },

  processes: {
    title: () => "Processes",
    frame: ({ params }) => {
      return `
        <nav id="pr-tabs" class="tabs" aria-label="Process states"></nav>
        <form id="pr-filters" class="filters" autocomplete="off">
          <input id="pr-search" type="search" placeholder="Search function, ID, args…" value="${esc(params.q || "")}" aria-label="Search">
          <select id="pr-type" aria-label="Executor type"></select>
          <input id="pr-label" placeholder="Label" value="${esc(params.label || "")}" aria-label="Label">
          <input id="pr-initiator" placeholder="Initiator (user name)" value="${esc(params.initiator || "")}" aria-label="Initiator">
        </form>
        <div class="card flush"><div id="pr-list"></div></div>
        <p id="pr-foot" class="muted small"></p>`;
    },
    mount({ args }) {
      const state = STATES.includes(args[0]) ? args[0] : "waiting";
      const update = () => {
        const params = {
          q: $("#pr-search").value.trim(),
          type: $("#pr-type").value,
          label: $("#pr-label").value.trim(),
          initiator: $("#pr-initiator").value.trim(),
        };
        history.replaceState(null, "", `#/processes/${state}${query(params)}`);
        route.params = params;
        refreshSoon();
      };
      for (const id of ["#pr-search", "#pr-label", "#pr-initiator"]) $(id).addEventListener("input", update);
      $("#pr-type").addEventListener("change", update);
      $("#pr-filters").addEventListener("submit", (e) => e.preventDefault());
    },
    async refresh({ args, params }) {
      const state = STATES.includes(args[0]) ? args[0] : "waiting";
      if (executors.length === 0) await loadExecutors();
      const counts = stats
        ? [stats.waitingprocesses, stats.runningprocesses, stats.successfulprocesses, stats.failedprocesses, stats.cancelledprocesses]
        : [];
      const types = [...new Set([...executors.map((e) => e.executortype), params.type || ""].filter(Boolean))].sort();
      patch("pr-type", ["", ...types]
        .map((t) => `<option value="${esc(t)}"${t === (params.type || "") ? " selected" : ""}>${t ? esc(t) : "Any executor type"}</option>`)
        .join(""));
      const filters = query({ q: params.q, type: params.type, label: params.label, initiator: params.initiator });
      patch("pr-tabs", STATES.map((s, i) =>
        `<a href="#/processes/${s}${filters}" class="tab${s === state ? " active" : ""}" data-state="${s}">${s}<span class="count">${counts[i] ?? ""}</span></a>`).join(""));
      let list;
      try {
        list = await call("getprocessesmsg", {
          colonyname: session.colony,
          state: STATES.indexOf(state),
          count: LIST_COUNT,
          executortype: params.type || "",
          label: params.label || "",
          initiator: params.initiator || "",
        });
      } catch (error) {
        if (error instanceof RpcError && error.status === 400) {
          patch("pr-list", `<p class="error-box">${esc(error.message)}</p>`);
          patch("pr-foot", "");
          return;
        }
        throw error;
      }
      list = list || [];
      const needle = (params.q || "").toLowerCase();
      const shown = needle
        ? list.filter((p) =>
          [p.processid, p.spec?.funcname, p.spec?.label, p.initiatorname, JSON.stringify(p.spec?.args ?? []), JSON.stringify(p.spec?.kwargs ?? {})]
            .some((field) => String(field || "").toLowerCase().includes(needle)))
        : list;
      patch("pr-list", table(PROCESS_COLUMNS, processRows(shown, state),
        needle || params.type || params.label || params.initiator ? `No ${state} processes match these filters.` : `No ${state} processes.`));
      patch("pr-foot", list.length >= LIST_COUNT
        ? `Showing the first ${LIST_COUNT} ${state} processes (the server's page size).`
        : `${shown.length} of ${list.length} ${state} processes shown.`);
    },
  },

  process: {
    title: () => "Process",
    frame: () => `
      <div id="p-head" class="card"></div>
      <div class="grid-2">
        <div class="card"><h2>Timings</h2><div id="p-times"></div></div>
        <div class="card"><h2>Input and output</h2><div id="p-io"></div></div>
      </div>
      <div id="p-errors"></div>
      <div class="card"><div class="card-head"><h2>Logs</h2><span class="muted small">live tail</span></div><pre id="p-logs" class="logs"></pre></div>
      <div class="grid-2">
        <div class="card"><h2>Attributes</h2><div id="p-attributes"></div></div>
        <div class="card"><h2>Relations</h2><div id="p-relations"></div></div>
      </div>
      <div class="card"><h2>Function spec</h2><pre id="p-spec" class="code"></pre></div>`,
    mount({ args }) {
      $("#p-head").addEventListener("click", async (event) => {
        const action = event.target.closest("[data-action]")?.dataset.action;
        if (!action || session.readonly) return;
        const processid = args[0];
        try {
          if (action === "cancel") {
            await call("cancelprocessmsg", { processid });
            notify(`Cancelled process ${short(processid)}.`);
          } else if (action === "remove") {
            if (!confirm("Remove this process and its logs? This cannot be undone.")) return;
            await call("removeprocessmsg", { processid, all: false });
            notify(`Removed process ${short(processid)}.`);
            location.hash = "#/processes/waiting";
            return;
          } else if (action === "resubmit") {
            resubmit = currentProcess?.spec || null;
            location.hash = "#/submit";
            return;
          }
          refreshSoon();
        } catch (error) {
          notify(friendly(error), true);
        }
      });
    },
    async refresh({ args }) {
      const processid = args[0];
      let p;
      try {
        p = await call("getprocessmsg", { processid });
      } catch (error) {
        if (error instanceof RpcError && error.status !== 0) {
          patch("p-head", `<p class="error-box">Process ${esc(short(processid))}: ${esc(error.message)}</p>`);
          return;
        }
        throw error;
      }
      currentProcess = p;
      if (executors.length === 0) await loadExecutors();
      const logs = (await call("getlogsmsg", {
        colonyname: session.colony, processid, executorname: "", count: 500, since: 0, latest: true,
      })) || [];
      const state = STATES[p.state] || String(p.state);
      const canCancel = p.state === 0 || p.state === 1;
      patch("p-head", `
        <div class="detail-head">
          <div>
            <h2 class="title">${esc(p.spec?.funcname || "(no function)")} ${badge(state)}</h2>
            <div class="mono muted small copyable" title="Process ID">${esc(p.processid)}</div>
          </div>
          <div class="actions mutating">
            ${canCancel ? `<button class="button" data-action="cancel" type="button">Cancel</button>` : ""}
            <button class="button" data-action="resubmit" type="button">Submit again</button>
            <button class="button danger" data-action="remove" type="button">Remove</button>
          </div>
        </div>
        <dl class="facts">
          <dt>Executor type</dt><dd>${esc(p.spec?.conditions?.executortype || "—")}</dd>
          <dt>Assigned to</dt><dd>${p.assignedexecutorid ? esc(executorName(p.assignedexecutorid)) : "—"}</dd>
          <dt>Initiator</dt><dd>${esc(p.initiatorname || short(p.initiatorid))}</dd>
          <dt>Label</dt><dd>${esc(p.spec?.label || "—")}</dd>
          <dt>Priority</dt><dd>${esc(p.spec?.priority ?? 0)}</dd>
          <dt>Retries</dt><dd>${esc(p.retries)} of ${esc(p.spec?.maxretries ?? 0)}</dd>
        </dl>`);
      const submitted = parseTime(p.submissiontime), started = parseTime(p.starttime), ended = parseTime(p.endtime);
      const wait = started ? started - submitted : p.state === 0 ? Date.now() - submitted : null;
      const exec = started ? (ended || Date.now()) - started : null;
      patch("p-times", `<dl class="facts">
        <dt>Submitted</dt><dd>${esc(stamp(p.submissiontime))}</dd>
        <dt>Started</dt><dd>${esc(stamp(p.starttime))}</dd>
        <dt>Ended</dt><dd>${esc(stamp(p.endtime))}</dd>
        <dt>Waited</dt><dd>${esc(duration(wait))}</dd>
        <dt>Ran</dt><dd>${esc(duration(exec))}</dd>
        <dt>Wait deadline</dt><dd>${esc(stamp(p.waitdeadline))}</dd>
        <dt>Exec deadline</dt><dd>${esc(stamp(p.execdeadline))}</dd>
      </dl>`);
      patch("p-io", `
        <h3>Arguments</h3><pre class="code small">${json({ args: p.spec?.args ?? [], kwargs: p.spec?.kwargs ?? {} })}</pre>
        <h3>Input</h3><pre class="code small">${json(p.in ?? [])}</pre>
        <h3>Output</h3><pre id="p-output" class="code small">${json(p.out ?? [])}</pre>`);
      const errors = p.errors || [];
      patch("p-errors", errors.length
        ? `<div class="card error-card"><h2>Errors</h2>${errors.map((e) => `<pre class="error-box">${esc(e)}</pre>`).join("")}</div>`
        : "");
      const lines = logs
        .slice()
        .sort((a, b) => a.timestamp - b.timestamp)
        .map((l) => `<span class="log-time">${esc(new Date(l.timestamp / 1e6).toLocaleTimeString())}</span> ${esc(l.message.replace(/\n$/, ""))}`);
      patch("p-logs", lines.length ? lines.join("\n") : `<span class="muted">No logs yet.</span>`);
      const attributes = p.attributes || [];
      patch("p-attributes", table(["Key", "Value", "Type"],
        attributes.map((a) => ({ cells: [esc(a.key), `<span class="mono">${esc(a.value)}</span>`, esc(ATTRIBUTE_TYPES[a.attributetype] ?? a.attributetype)] })),
        "No attributes."));
      const links = (ids) => (ids || []).length
        ? ids.map((id) => `<a class="mono" href="#/process/${esc(id)}">${esc(short(id))}</a>`).join(" ")
        : "—";
      patch("p-relations", `<dl class="facts">
        <dt>Workflow</dt><dd>${p.processgraphid ? `<a class="mono" href="#/workflow/${esc(p.processgraphid)}">${esc(short(p.processgraphid))}</a>` : "—"}</dd>
        <dt>Parents</dt><dd>${links(p.parents)}</dd>
        <dt>Children</dt><dd>${links(p.children)}</dd>
        <dt>Node</dt><dd>${esc(p.spec?.nodename || "—")}</dd>
      </dl>`);
      patch("p-spec", json(p.spec));
    },
  },

  workflows: {
    title: () => "Workflows",
    frame: () => `<nav id="wf-tabs" class="tabs" aria-label="Workflow states"></nav><div class="card flush"><div id="wf-list"></div></div>`,
    async refresh({ args }) {
      const state = STATES.includes(args[0]) ? args[0] : "running";
      const counts = stats
        ? [stats.waitingworkflows, stats.runningworkflows, stats.successfulworkflows, stats.failedworkflows, stats.cancelledworkflows]
        : [];
      patch("wf-tabs", STATES.map((s, i) =>
        `<a href="#/workflows/${s}" class="tab${s === state ? " active" : ""}">${s}<span class="count">${counts[i] ?? ""}</span></a>`).join(""));
      const graphs = (await call("getprocessgraphsmsg", { colonyname: session.colony, count: LIST_COUNT, state: STATES.indexOf(state) })) || [];
      patch("wf-list", table(["Workflow", "Steps", "Initiator", "Submitted", "Time", "State"], graphs.map((g) => {
        const started = parseTime(g.starttime), ended = parseTime(g.endtime);
        return {
          href: `#/workflow/${g.processgraphid}`,
          cells: [
            `<a class="mono strong" href="#/workflow/${esc(g.processgraphid)}">${esc(short(g.processgraphid))}</a>`,
            esc((g.processids || []).length),
            esc(g.initiatorname || short(g.initiatorid)),
            esc(ago(g.submissiontime)),
            esc(started ? duration((ended || Date.now()) - started) : "—"),
            badge(STATES[g.state] || String(g.state)),
          ],
        };
      }), `No ${state} workflows.`));
    },
  },

  workflow: {
    title: () => "Workflow",
    frame: () => `
      <div id="wf-head" class="card"></div>
      <div class="card"><h2>Graph</h2><div id="wf-graph" class="graph-box"></div></div>
      <div class="card flush"><div class="card-head padded"><h2>Steps</h2></div><div id="wf-steps"></div></div>`,
    mount({ args }) {
      $("#wf-head").addEventListener("click", async (event) => {
        const action = event.target.closest("[data-action]")?.dataset.action;
        if (!action || session.readonly) return;
        const processgraphid = args[0];
        try {
          if (action === "cancel") {
            await call("cancelprocessgraphmsg", { processgraphid });
            notify(`Cancelled workflow ${short(processgraphid)}.`);
          } else if (action === "remove") {
            if (!confirm("Remove this workflow and all its processes? This cannot be undone.")) return;
            await call("removeprocessgraphmsg", { processgraphid, all: false });
            notify(`Removed workflow ${short(processgraphid)}.`);
            location.hash = "#/workflows/running";
            return;
          }
          refreshSoon();
        } catch (error) {
          notify(friendly(error), true);
        }
      });
    },
    async refresh({ args }) {
      let g;
      try {
        g = await call("getprocessgraphmsg", { processgraphid: args[0] });
      } catch (error) {
        if (error instanceof RpcError && error.status !== 0) {
          patch("wf-head", `<p class="error-box">Workflow ${esc(short(args[0]))}: ${esc(error.message)}</p>`);
          return;
        }
        throw error;
      }
      const started = parseTime(g.starttime), ended = parseTime(g.endtime);
      const open = g.state === 0 || g.state === 1;
      patch("wf-head", `
        <div class="detail-head">
          <div>
            <h2 class="title">Workflow ${badge(STATES[g.state] || String(g.state))}</h2>
            <div class="mono muted small copyable" title="Workflow ID">${esc(g.processgraphid)}</div>
          </div>
          <div class="actions mutating">
            ${open ? `<button class="button" data-action="cancel" type="button">Cancel</button>` : ""}
            <button class="button danger" data-action="remove" type="button">Remove</button>
          </div>
        </div>
        <dl class="facts">
          <dt>Steps</dt><dd>${esc((g.processids || []).length)}</dd>
          <dt>Initiator</dt><dd>${esc(g.initiatorname || short(g.initiatorid))}</dd>
          <dt>Submitted</dt><dd>${esc(stamp(g.submissiontime))}</dd>
          <dt>Ran</dt><dd>${esc(started ? duration((ended || Date.now()) - started) : "—")}</dd>
        </dl>`);
      patch("wf-graph", workflowGraph(g));
      const stateOf = new Map((g.nodes || []).map((n) => [n.id, nodeState(n)]));
      const labelOf = new Map((g.nodes || []).map((n) => [n.id, n.data?.label || ""]));
      patch("wf-steps", table(["Step", "Process", "State"], (g.processids || []).map((id) => ({
        href: `#/process/${id}`,
        cells: [
          `<a class="strong" href="#/process/${esc(id)}">${esc(labelOf.get(id) || short(id))}</a>`,
          `<span class="mono">${esc(short(id))}</span>`,
          badge(stateOf.get(id) || "waiting"),
        ],
      })), "This workflow has no steps."));
    },
  },

  executors: {
    title: () => "Executors",
    frame: ({ params }) => `
      <form class="filters" id="ex-filters" autocomplete="off">
        <input id="ex-search" type="search" placeholder="Search name, type, function…" value="${esc(params.q || "")}" aria-label="Search executors">
        <label class="check"><input id="ex-all" type="checkbox"${params.all ? " checked" : ""}> Show unregistered</label>
      </form>
      <div class="card flush"><div id="ex-list"></div></div>`,
    mount() {
      const update = () => {
        const params = { q: $("#ex-search").value.trim(), all: $("#ex-all").checked ? "1" : "" };
        history.replaceState(null, "", `#/executors${query(params)}`);
        route.params = params;
        refreshSoon();
      };
      $("#ex-search").addEventListener("input", update);
      $("#ex-all").addEventListener("change", update);
      $("#ex-filters").addEventListener("submit", (e) => e.preventDefault());
    },
    async refresh({ params }) {
      await loadExecutors();
      const needle = (params.q || "").toLowerCase();
      const byExecutor = new Map();
      for (const f of functions) {
        const list = byExecutor.get(f.executorname) || [];
        list.push(f);
        byExecutor.set(f.executorname, list);
      }
      const shown = executors
        .filter((e) => params.all || e.state !== 3)
        .filter((e) => !needle || [e.executorname, e.executortype, e.executorid, e.locationname,
          ...(byExecutor.get(e.executorname) || []).map((f) => f.funcname)]
          .some((v) => String(v || "").toLowerCase().includes(needle)))
        .sort((a, b) => (parseTime(b.lastheardfromtime) || 0) - (parseTime(a.lastheardfromtime) || 0));
      patch("ex-list", table(["Executor", "Type", "State", "Last heard", "Location", "Functions"], shown.map((e) => {
        const heard = parseTime(e.lastheardfromtime);
        const fresh = heard && Date.now() - heard < 60000;
        const fns = (byExecutor.get(e.executorname) || [])
          .map((f) => `<span class="tag" title="${esc(f.description || "")} — called ${esc(f.counter)} times, avg ${esc((f.avgexectime || 0).toFixed(2))} s">${esc(f.funcname)}</span>`)
          .join(" ");
        return {
          cells: [
            `<span class="strong">${esc(e.executorname)}</span><div class="mono muted small">${esc(short(e.executorid))}</div>`,
            esc(e.executortype),
            badge(EXECUTOR_STATES[e.state] || String(e.state)),
            `<span class="heard ${fresh ? "fresh" : "stale"}"><i></i>${esc(ago(e.lastheardfromtime))}</span>`,
            esc(e.locationname || "—"),
            fns || `<span class="muted">none registered</span>`,
          ],
        };
      }), needle ? "No executors match." : "No executors in this colony yet."));
    },
  },

  crons: {
    title: () => "Crons & generators",
    frame: () => `
      <div class="card flush"><div class="card-head padded"><h2>Crons</h2></div><div id="cr-list"></div></div>
      <div class="card flush"><div class="card-head padded"><h2>Generators</h2></div><div id="gen-list"></div></div>`,
    mount() {
      $("#cr-list").addEventListener("click", async (event) => {
        const button = event.target.closest("[data-run]");
        if (!button || session.readonly) return;
        try {
          await call("runcronmsg", { cronid: button.dataset.run });
          notify("Cron started: its workflow was submitted.");
          refreshSoon();
        } catch (error) {
          notify(friendly(error), true);
        }
      });
    },
    async refresh() {
      const [crons, generators] = await Promise.all([
        call("getcronsmsg", { colonyname: session.colony, count: LIST_COUNT }),
        call("getgeneratorsmsg", { colonyname: session.colony, count: LIST_COUNT }),
      ]);
      patch("cr-list", table(["Name", "Schedule", "Next run", "Last run", "Last workflow", ""], (crons || []).map((c) => ({
        cells: [
          `<span class="strong">${esc(c.name)}</span>`,
          c.cronexpression ? `<code>${esc(c.cronexpression)}</code>` : `every ${esc(c.interval)} s${c.random ? " (random)" : ""}`,
          esc(stamp(c.nextrun)),
          esc(ago(c.lastrun)),
          c.prevprocessgraphid ? `<a class="mono" href="#/workflow/${esc(c.prevprocessgraphid)}">${esc(short(c.prevprocessgraphid))}</a>` : "—",
          `<button class="button small mutating" type="button" data-run="${esc(c.cronid)}">Run now</button>`,
        ],
      })), "No crons in this colony."));
      patch("gen-list", table(["Name", "Trigger", "Timeout", "Queued", "Last run"], (generators || []).map((g) => ({
        cells: [
          `<span class="strong">${esc(g.name)}</span>`,
          `${esc(g.trigger)} args`,
          `${esc(g.timeout)} s`,
          esc(g.queuesize ?? 0),
          esc(ago(g.lastrun)),
        ],
      })), "No generators in this colony."));
    },
  },

  colonies: {
    title: () => "Colonies",
    frame: () => `<div id="co-body"></div>`,
    mount() {
      $("#co-body").addEventListener("submit", async (event) => {
        event.preventDefault();
        const key = $("#co-serverkey").value.trim().toLowerCase();
        const problem = keyProblem(key);
        const box = $("#co-error");
        if (problem) {
          box.textContent = `Server key: ${problem}`;
          box.hidden = false;
          return;
        }
        try {
          await call("getcoloniesmsg", {}, key);
        } catch (error) {
          box.textContent = error instanceof RpcError && error.status === 403
            ? `Server key: this is not the server owner's key (ID ${short(idFromPrivateKey(key))}).`
            : friendly(error);
          box.hidden = false;
          return;
        }
        session.serverprvkey = key;
        saveSession();
        refreshSoon();
      });
    },
    async refresh() {
      if (!session.serverprvkey) {
        const body = $("#co-body");
        if (!body.querySelector("form")) {
          body.innerHTML = `
            <div class="card">
              <h2>Colonies need the server owner's key</h2>
              <p class="muted">Listing every colony on the server is for the server owner. You are signed in to colony
                <strong>${esc(session.colony)}</strong>. Paste the server's private key to see them all; it stays in this tab.</p>
              <form class="inline-form" autocomplete="off">
                <input id="co-serverkey" type="password" placeholder="Server private key (64 hexadecimal characters)" aria-label="Server private key">
                <button class="button primary" type="submit">Show colonies</button>
              </form>
              <p id="co-error" class="error-box" role="alert" hidden></p>
            </div>`;
        }
        return;
      }
      const [colonies, server] = await Promise.all([
        call("getcoloniesmsg", {}, session.serverprvkey),
        call("getstatisticsmsg", {}, session.serverprvkey),
      ]);
      patch("co-body", `
        <section class="cards">
          <div class="card stat"><span class="stat-label">Colonies</span><span class="stat-value">${esc(server.colonies)}</span></div>
          <div class="card stat executors"><span class="stat-label">Executors</span><span class="stat-value">${esc(server.activeexecutors)}<small> / ${esc(server.executors)}</small></span><span class="stat-sub">active / registered</span></div>
          <div class="card stat waiting"><span class="stat-label">Waiting</span><span class="stat-value">${esc(server.waitingprocesses)}</span><span class="stat-sub">on the whole server</span></div>
          <div class="card stat running"><span class="stat-label">Running</span><span class="stat-value">${esc(server.runningprocesses)}</span><span class="stat-sub">on the whole server</span></div>
        </section>
        <div class="card flush">${table(["Colony", "Colony ID", ""], (colonies || []).map((c) => ({
          cells: [
            `<span class="strong">${esc(c.name)}</span>`,
            `<span class="mono">${esc(c.colonyid)}</span>`,
            c.name === session.colony ? `<span class="tag">signed in</span>` : "",
          ],
        })), "No colonies on this server.")}</div>`);
    },
  },

  submit: {
    title: () => "Submit a function",
    frame: () => {
      const spec = resubmit || {};
      resubmit = null;
      const c = spec.conditions || {};
      return `
      <form id="submit-form" class="card form" autocomplete="off" novalidate>
        <div class="form-grid">
          <label>Function <input id="s-funcname" required list="s-functions" placeholder="echo" value="${esc(spec.funcname || "")}"></label>
          <label>Executor type <input id="s-type" required list="s-types" placeholder="cli" value="${esc(c.executortype || "")}"></label>
          <label class="wide"><span>Arguments <span class="hint">a JSON array, or one value per line</span></span>
            <textarea id="s-args" rows="3" placeholder='["Hello", 42]'>${esc(spec.args && spec.args.length ? JSON.stringify(spec.args) : "")}</textarea></label>
          <label class="wide"><span>Keyword arguments <span class="hint">a JSON object</span></span>
            <textarea id="s-kwargs" rows="2" placeholder='{"name": "World"}'>${esc(spec.kwargs && Object.keys(spec.kwargs).length ? JSON.stringify(spec.kwargs) : "")}</textarea></label>
          <label><span>Executor names <span class="hint">optional, comma separated</span></span><input id="s-names" value="${esc((c.executornames || []).join(", "))}"></label>
          <label>Label <input id="s-label" value="${esc(spec.label || "")}"></label>
          <label>Priority <input id="s-priority" type="number" value="${esc(spec.priority ?? 0)}"></label>
          <label>Max wait time (s) <input id="s-maxwait" type="number" value="${esc(spec.maxwaittime ?? -1)}"></label>
          <label>Max exec time (s) <input id="s-maxexec" type="number" value="${esc(spec.maxexectime ?? -1)}"></label>
          <label>Max retries <input id="s-retries" type="number" value="${esc(spec.maxretries ?? 0)}"></label>
        </div>
        <datalist id="s-functions"></datalist><datalist id="s-types"></datalist>
        <p id="submit-error" class="error-box" role="alert" hidden></p>
        <div class="actions"><button id="s-submit" class="button primary" type="submit">Submit</button></div>
      </form>
      <div class="card"><div class="card-head"><h2>Functions registered in ${esc(session.colony)}</h2><span id="s-hint" class="muted small"></span></div><div id="s-registered"></div></div>`;
    },
    mount() {
      $("#s-registered").addEventListener("click", (event) => {
        const row = event.target.closest("tr[data-fill]");
        if (!row) return;
        const fill = JSON.parse(row.dataset.fill);
        $("#s-funcname").value = fill.funcname;
        $("#s-type").value = fill.type;
        $("#s-args").focus();
      });
      $("#submit-form").addEventListener("submit", async (event) => {
        event.preventDefault();
        const box = $("#submit-error");
        box.hidden = true;
        let spec;
        try {
          spec = specFromForm();
        } catch (error) {
          box.textContent = error.message;
          box.hidden = false;
          return;
        }
        $("#s-submit").disabled = true;
        try {
          const process = await call("submitfuncspecmsg", { spec });
          notify(`Submitted ${spec.funcname}: process ${short(process.processid)}.`);
          location.hash = `#/process/${process.processid}`;
        } catch (error) {
          box.textContent = `The server refused the process: ${friendly(error)}`;
          box.hidden = false;
        } finally {
          $("#s-submit").disabled = false;
        }
      });
    },
    async refresh() {
      await loadExecutors();
      const names = [...new Set(functions.map((f) => f.funcname))].sort();
      const types = [...new Set([...executors.map((e) => e.executortype), ...functions.map((f) => f.executortype)])].sort();
      patch("s-hint", functions.length ? "Pick a function below to fill in its name and executor type." : "");
      patch("s-functions", names.map((n) => `<option value="${esc(n)}"></option>`).join(""));
      patch("s-types", types.map((t) => `<option value="${esc(t)}"></option>`).join(""));
      patch("s-registered", table(["Function", "Executor", "Type", "Calls", "Avg exec"], functions.map((f) => ({
        fill: { funcname: f.funcname, type: f.executortype },
        cells: [`<span class="strong">${esc(f.funcname)}</span>`, esc(f.executorname), esc(f.executortype), esc(f.counter), `${esc((f.avgexectime || 0).toFixed(2))} s`],
      })), "No functions are registered yet; any function name an executor understands can be submitted."));
    },
  },
};

let resubmit = null;
let currentProcess = null;

function specFromForm() {
  const funcname = $("#s-funcname").value.trim();
  const executortype = $("#s-type").value.trim();
  if (!funcname) throw new Error("Enter the name of the function to run.");
  if (!executortype) throw new Error("Enter the executor type that should run it.");
  const argsText = $("#s-args").value.trim();
  let args = [];
  if (argsText.startsWith("[")) {
    try {
      args = JSON.parse(argsText);
    } catch (error) {
      throw new Error(`Arguments: not a valid JSON array (${error.message}).`);
    }
  } else if (argsText) {
    args = argsText.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return line;
      }
    });
  }
  let kwargs = {};
  const kwargsText = $("#s-kwargs").value.trim();
  if (kwargsText) {
    try {
      kwargs = JSON.parse(kwargsText);
    } catch (error) {
      throw new Error(`Keyword arguments: not valid JSON (${error.message}).`);
    }
    if (!kwargs || typeof kwargs !== "object" || Array.isArray(kwargs)) {
      throw new Error("Keyword arguments: expected a JSON object such as {\"name\": \"World\"}.");
    }
  }
  const int = (id, name) => {
    const value = Number($(id).value || 0);
    if (!Number.isInteger(value)) throw new Error(`${name}: expected a whole number.`);
    return value;
  };
  return {
    nodename: "",
    funcname,
    args,
    kwargs,
    priority: int("#s-priority", "Priority"),
    maxwaittime: int("#s-maxwait", "Max wait time"),
    maxexectime: int("#s-maxexec", "Max exec time"),
    maxretries: int("#s-retries", "Max retries"),
    conditions: {
      colonyname: session.colony,
      executornames: $("#s-names").value.split(",").map((n) => n.trim()).filter(Boolean),
      executortype,
      dependencies: [],
    },
    label: $("#s-label").value.trim(),
    env: {},
  };
}

// --------------------------------------------------------------------------------------------
// Router and the refresh loop

let route = { view: "overview", args: [], params: {} };
let generation = 0;
let refreshing = false;
let again = false;

function parseRoute() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [view, ...args] = path.split("/").filter(Boolean).map(decodeURIComponent);
  return {
    view: views[view] ? view : "overview",
    args,
    params: Object.fromEntries(new URLSearchParams(search)),
  };
}

function renderView() {
  if (!session) return;
  route = parseRoute();
  if (route.view === "submit" && session.readonly) {
    history.replaceState(null, "", "#/overview");
    route = parseRoute();
  }
  generation++;
  const view = views[route.view];
  model.view = route.view;
  $("#view-title").textContent = view.title(route);
  document.title = `${view.title(route)} · ${session.colony} · ColonyOS`;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === route.view ||
      (route.view === "process" && link.dataset.view === "processes") ||
      (route.view === "workflow" && link.dataset.view === "workflows"));
  }
  const root = $("#view");
  root.innerHTML = view.frame(route);
  root.dataset.view = route.view;
  if (view.mount) view.mount(route);
  refreshSoon();
}

function refreshSoon() {
  if (refreshing) {
    again = true;
    return;
  }
  refresh();
}

async function refresh() {
  if (!session || !model.signedIn) return;
  refreshing = true;
  const mine = generation;
  try {
    await sampleStatistics();
    if (mine === generation) await views[route.view].refresh(route);
    if (mine === generation) {
      model.updates++;
      model.lastUpdate = Date.now();
      model.error = "";
      clearNotice(true);
    }
  } catch (error) {
    model.error = friendly(error);
    if (error instanceof RpcError && error.status === 403) {
      notify(`The server refused this key: ${error.message}`, true, true);
    } else {
      notify(model.error, true, true);
    }
  } finally {
    refreshing = false;
    showLive();
    if (again) {
      again = false;
      refreshSoon();
    }
  }
}

let noticeTimer = 0;
let noticeIsError = false;

function notify(text, isError = false, sticky = false) {
  const el = $("#notice");
  el.textContent = text;
  el.hidden = false;
  el.classList.toggle("error", isError);
  noticeIsError = isError && sticky;
  clearTimeout(noticeTimer);
  if (!sticky) noticeTimer = setTimeout(() => (el.hidden = true), 4000);
}

function clearNotice(onlyErrors) {
  if (onlyErrors && !noticeIsError) return;
  noticeIsError = false;
  $("#notice").hidden = true;
}

window.addEventListener("hashchange", () => {
  if (takeFragmentKeys()) return;
  renderView();
});

// Clicking anywhere on a linked table row opens it (the first cell holds the real link).
document.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-href]");
  if (row && !event.target.closest("a, button, input")) location.hash = row.dataset.href;
});

setInterval(() => {
  if (!document.hidden) refreshSoon();
  else showLive();
}, REFRESH_MS);
document.addEventListener("visibilitychange", () => !document.hidden && refreshSoon());

/** Sign in from `#prvkey=…&colony=…`: wipe the fragment from the address bar first. */
function takeFragmentKeys() {
  const fragment = location.hash.slice(1);
  if (!/(^|&)(prvkey|colony)=/.test(fragment)) return false;
  const params = new URLSearchParams(fragment);
  history.replaceState(null, "", `${location.pathname}#/overview`);
  const readonly = ["1", "true", "yes"].includes(params.get("readonly") || "");
  $("#boot").hidden = false;
  signIn({
    prvkey: params.get("prvkey"),
    colony: params.get("colony") || "",
    serverprvkey: params.get("serverprvkey") || "",
    readonly,
    readonlyLocked: readonly,
  })
    .then(showShell)
    .catch((error) => showSignIn(error.message, params.get("colony") || ""));
  return true;
}

// --------------------------------------------------------------------------------------------
// Boot

model.booted = true;
if (!takeFragmentKeys()) {
  session = loadSession();
  if (session) showShell();
  else showSignIn();
}
