// The page side of the ColonyOS browser executor.
//
// The executor itself (Pyodide + the Python executor loop) lives in worker.mjs; this module only
// owns the form, the status display and the log. It talks to the worker with plain messages:
//
//   worker -> page: booting | ready | registered | event | events (a batch) | stopped | error
//   page -> worker: start {settings} | stop
//
// Under load the worker can send hundreds of events per second, so every handler only updates
// the in-memory model (window.colonies) and asks for one repaint per animation frame.

const SETTINGS_KEY = "colonies.settings";
const EXECUTOR_KEY = "colonies.executorPrvKey";
const EXECUTOR_ID_KEY = "colonies.executorId";
// The name the stored key registered under: a key keeps its name across reloads, since the
// server knows an executor by both (a new random name would clash with the key's old one).
const EXECUTOR_NAME_KEY = "colonies.executorName";
const LOG_CAP = 500;
const FIELDS = ["serverUrl", "colonyName", "executorName", "executorType", "joinToken", "colonyPrvKey"];
const FIELD_IDS = {
  serverUrl: "server-url",
  colonyName: "colony-name",
  executorName: "executor-name",
  executorType: "executor-type",
  joinToken: "join-token",
  colonyPrvKey: "colony-prvkey",
};

// What the tutorial's functions take and do; unknown functions are listed by name only.
const FUNCTION_INFO = {
  echo: { args: ["message"], about: "Returns the message back", example: ['"Hello from browser!"'] },
  add: { args: ["a", "b"], about: "Adds two numbers", example: ["5", "3"] },
  multiply: { args: ["a", "b"], about: "Multiplies two numbers", example: ["7", "6"] },
  greet: { args: ["name"], about: "Returns a greeting message", example: ['"World"'] },
  browser_info: { args: [], about: "Returns the browser's user agent and language", example: [] },
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// Model (exposed for tests and benchmarks)

const model = {
  state: "booting",
  status: "booting Python…",
  statusDetail: "",
  ready: false,
  running: false,
  stopping: false,
  functions: [],
  pythonVersion: "",
  executorId: "",
  error: null,
  snapshot: null, // "restored" | "saved" | "unsaved": see worker.mjs
  parameters: {}, // function name -> its required parameters (from the Python side)
  counters: { completed: 0, failed: 0, meanMs: null },
  timings: {
    pageLoad: performance.now(),
    bootMs: null,
    readyAt: null,
    startClickedAt: null,
    registeredAt: null,
    stoppedAt: null,
  },
  log: [],
};
window.colonies = model;

let runMsTotal = 0;
let runMsCount = 0;
let lastSettings = null; // the settings of the current/last start, for friendly error texts
let selectedFunction = "";

// ---------------------------------------------------------------------------------------------
// Storage helpers (localStorage can throw in private modes or sandboxed frames)

function storageGet(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}
function storageSet(key, value) {
  try { localStorage.setItem(key, value); } catch { /* not persisted; fine */ }
}
function storageRemove(key) {
  try { localStorage.removeItem(key); } catch { /* ignore */ }
}
function loadEdits() {
  try {
    const parsed = JSON.parse(storageGet(SETTINGS_KEY) || "{}");
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

// Fields the user has changed: persisted and never overwritten by config.json.
const edits = loadEdits();

function rememberEdit(name, value) {
  edits[name] = value;
  storageSet(SETTINGS_KEY, JSON.stringify(edits));
}

// ---------------------------------------------------------------------------------------------
// Rendering, batched to one pass per animation frame

const dirty = { status: false, counters: false, log: false, controls: false };
let pendingLog = []; // entries not yet in the DOM
let clearLogDom = false;
let frameRequested = false;

function schedule(part) {
  dirty[part] = true;
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(render);
  }
}

// The log is the expensive part (layout of up to 500 rows), so under load it is repainted at most
// every LOG_INTERVAL_MS; status and counters follow every frame.
const LOG_INTERVAL_MS = 120;
let lastLogRender = -Infinity;
let logTimer = 0;

function render(now) {
  frameRequested = false;
  if (dirty.status) renderStatus();
  if (dirty.counters) renderCounters();
  if (dirty.controls) renderControls();
  dirty.status = dirty.counters = dirty.controls = false;
  if (dirty.log) {
    const wait = LOG_INTERVAL_MS - (now - lastLogRender);
    if (wait <= 0 || clearLogDom) {
      lastLogRender = now;
      dirty.log = false;
      renderLog();
    } else if (!logTimer) {
      logTimer = setTimeout(() => {
        logTimer = 0;
        schedule("log");
      }, wait);
    }
  }
}

function renderStatus() {
  const el = $("status");
  if (el.textContent !== model.status) el.textContent = model.status;
  if (el.dataset.state !== model.state) el.dataset.state = model.state;
  document.body.dataset.state = model.state;
  const detail = $("status-detail");
  detail.textContent = model.statusDetail;
  detail.hidden = !model.statusDetail;
}

const numberFormat = new Intl.NumberFormat("en-US");

function renderCounters() {
  $("count-completed").textContent = numberFormat.format(model.counters.completed);
  $("count-failed").textContent = numberFormat.format(model.counters.failed);
  $("mean-ms").textContent = model.counters.meanMs === null ? "–" : model.counters.meanMs.toFixed(1);
  $("mean-unit").hidden = model.counters.meanMs === null;
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function formatDuration(seconds) {
  const ms = seconds * 1000;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${seconds.toFixed(2)} s`;
}

const KIND_LABEL = { completed: "done", failed: "failed", status: "status", error: "error", log: "log", info: "info" };

function logRow(entry) {
  const li = document.createElement("li");
  li.className = `log-entry kind-${entry.kind}`;

  const time = document.createElement("time");
  time.className = "log-time";
  time.dateTime = new Date(entry.time).toISOString();
  time.textContent = clock(entry.time);

  const kind = document.createElement("span");
  kind.className = "log-kind";
  kind.textContent = KIND_LABEL[entry.kind] || entry.kind;

  const msg = document.createElement("span");
  msg.className = "log-msg";
  msg.textContent = entry.message;

  li.append(time, kind, msg);

  if (entry.processgraphid) {
    const graph = document.createElement("span");
    graph.className = "log-graph";
    graph.title = `Step of workflow ${entry.processgraphid}`;
    graph.textContent = `wf ${entry.processgraphid.slice(0, 8)}`;
    li.append(graph);
  }
  if (entry.processid) {
    const pid = document.createElement("span");
    pid.className = "log-pid";
    pid.title = `Process ${entry.processid}`;
    pid.textContent = entry.processid.slice(0, 8);
    li.append(pid);
  }
  if (typeof entry.seconds === "number" && Number.isFinite(entry.seconds)) {
    const dur = document.createElement("span");
    dur.className = "log-dur";
    dur.textContent = formatDuration(entry.seconds);
    li.append(dur);
  }
  return li;
}

function renderLog() {
  const list = $("log");
  if (clearLogDom) {
    list.replaceChildren();
    clearLogDom = false;
  }
  if (pendingLog.length) {
    const entries = pendingLog.length > LOG_CAP ? pendingLog.slice(-LOG_CAP) : pendingLog;
    pendingLog = [];
    const frag = document.createDocumentFragment();
    for (const entry of entries) frag.append(logRow(entry));
    list.append(frag);
    let excess = list.childElementCount - LOG_CAP;
    while (excess-- > 0) list.firstElementChild.remove();
    if (logPinned) scrollLogToEnd();
  }
  const n = model.log.length;
  $("log-count").textContent = n === 1 ? "1 entry" : `${numberFormat.format(n)} entries`;
}

// Follow new entries unless the user scrolled up to read. Tracked on scroll, so rendering never
// has to measure the list before appending; scrolls the page made itself do not unpin.
let logPinned = true;
let autoScrollTop = -1;

function scrollLogToEnd() {
  const list = $("log");
  list.scrollTop = list.scrollHeight;
  autoScrollTop = list.scrollTop;
}

$("log").addEventListener("scroll", (event) => {
  const list = event.currentTarget;
  if (list.scrollHeight - list.scrollTop - list.clientHeight < 48) logPinned = true;
  else if (Math.abs(list.scrollTop - autoScrollTop) > 2) logPinned = false; // the user moved away
}, { passive: true });
// Re-wrapping after a resize must not unpin a log that was following (resize runs before scroll).
window.addEventListener("resize", () => {
  if (logPinned) scrollLogToEnd();
});

function addLog(kind, message, extra = {}) {
  const entry = { time: Date.now(), kind, message, ...extra };
  model.log.push(entry);
  if (model.log.length > LOG_CAP) model.log.shift();
  pendingLog.push(entry);
  if (pendingLog.length > LOG_CAP * 2) pendingLog.splice(0, pendingLog.length - LOG_CAP);
  schedule("log");
}

// ---------------------------------------------------------------------------------------------
// Controls

const settingsFields = $("settings-fields");
const startBtn = $("start");
const stopBtn = $("stop");
const resetKeyBtn = $("reset-key");

function renderControls() {
  const busy = model.running || model.stopping;
  settingsFields.disabled = busy;
  startBtn.disabled = !model.ready || busy;
  startBtn.title = model.ready ? "" : "Waiting for the Python runtime to boot…";
  stopBtn.disabled = !model.running || model.stopping;
  stopBtn.textContent = model.stopping ? "Stopping…" : "Stop";
  resetKeyBtn.disabled = busy;
  startBtn.textContent = model.running ? "Running…" : "Start executor";
  renderExecutorId();
}

function renderExecutorId() {
  const el = $("executor-id");
  const id = model.executorId;
  el.textContent = id ? `${id.slice(0, 16)}…` : "";
  el.title = id ? `Executor ID ${id}` : "";
}

function setState(state, status, detail = "") {
  model.state = state;
  model.status = status;
  model.statusDetail = detail;
  schedule("status");
}

// ---------------------------------------------------------------------------------------------
// Friendly errors

function explainError(message, settings) {
  const text = String(message || "Unknown error");
  const lower = text.toLowerCase();
  const url = settings?.serverUrl || $("server-url").value || "the configured URL";
  const colony = settings?.colonyName || $("colony-name").value || "?";

  if (/failed to fetch|cannot reach|networkerror|network error|load failed|connection refused/.test(lower)) {
    return {
      title: "Connection error",
      text: `Cannot reach the ColonyOS server at ${url}. Is it running? Is the URL right? ` +
        "(If the page is served from another origin, the server must send CORS headers — colonies servers do.)",
    };
  }
  if (lower.includes("token")) {
    const reason = text.replace(/^the join token was refused:\s*/i, "");
    return { title: "Join token refused", text: `The join token was refused: ${reason}` };
  }
  if (lower.includes("not unique")) {
    return {
      title: "Executor key already in use",
      text: "This executor key is registered under another name in the colony. Use that name, " +
        "or press “New executor key” to join as a new executor.",
    };
  }
  if (lower.includes("does not exist")) {
    return { title: "Unknown colony", text: `Colony ${colony} does not exist on this server.` };
  }
  if (lower.includes("not colony owner") || lower.includes("not the owner key") ||
      lower.includes("access denied")) {
    return {
      title: "Access denied",
      text: `Access denied: the colony private key or join token is not valid for colony ${colony}.`,
    };
  }
  return { title: "Error", text };
}

function showError(message, titleOverride = "") {
  const explained = explainError(message, lastSettings);
  const title = titleOverride || explained.title;
  const text = explained.text;
  model.error = { message: String(message), explanation: text };
  const box = $("error-box");
  box.querySelector(".error-title").textContent = title;
  $("error-text").textContent = text;
  const raw = $("error-raw");
  const rawText = String(message || "");
  raw.textContent = rawText && !text.includes(rawText) ? `Details: ${rawText}` : "";
  raw.hidden = !raw.textContent;
  box.hidden = false;
}

function hideError() {
  model.error = null;
  $("error-box").hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Runtime badge and functions card

function setRuntime(state, text) {
  const badge = $("runtime");
  badge.dataset.state = state;
  $("runtime-text").textContent = text;
}

function renderFunctions() {
  const list = $("functions");
  list.replaceChildren();
  for (const name of model.functions) {
    const info = FUNCTION_INFO[name];
    const li = document.createElement("li");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "fn";
    btn.dataset.fn = name;
    btn.setAttribute("aria-pressed", String(name === selectedFunction));
    const sig = document.createElement("code");
    sig.className = "fn-sig";
    const fname = document.createElement("span");
    fname.className = "fn-name";
    fname.textContent = name;
    const fargs = document.createElement("span");
    fargs.className = "fn-args";
    fargs.textContent = `(${(info ? info.args : model.parameters[name] || []).join(", ")})`;
    sig.append(fname, fargs);
    const about = document.createElement("span");
    about.className = "fn-about";
    about.textContent = info ? info.about : "Provided by this executor";
    btn.append(sig, about);
    btn.addEventListener("click", () => selectFunction(name));
    li.append(btn);
    list.append(li);
  }
  const any = model.functions.length > 0;
  list.hidden = !any;
  $("try-it").hidden = !any;
  $("functions-empty").hidden = any;
  $("functions-empty").textContent = model.ready ? "This executor offers no functions." : "Waiting for the Python runtime…";
  if (model.pythonVersion) {
    $("python-version").textContent = `Running on Python ${model.pythonVersion} in your browser.`;
    $("python-version").hidden = false;
  }
  renderTryIt();
}

function selectFunction(name) {
  selectedFunction = name;
  for (const btn of $("functions").querySelectorAll("button.fn")) {
    btn.setAttribute("aria-pressed", String(btn.dataset.fn === name));
  }
  renderTryIt();
}

function renderTryIt() {
  const type = $("executor-type").value.trim() || "wasm";
  for (const el of document.querySelectorAll(".js-type")) el.textContent = type;
  if (!selectedFunction) return;
  const info = FUNCTION_INFO[selectedFunction];
  // A function the page has no example for gets one placeholder per required parameter.
  const params = model.parameters[selectedFunction] || [];
  const example = info ? info.example : params.map((p) => p.toUpperCase());
  // One span per option so a line never breaks inside "--args 5" (Chromium breaks after hyphens).
  const parts = [
    "colonies function exec",
    `--func ${selectedFunction}`,
    ...example.map((a) => `--args ${a}`),
    `--targettype ${type}`,
    "--wait",
    "--out",
  ];
  const code = $("try-cmd");
  code.replaceChildren();
  parts.forEach((part, i) => {
    if (i) code.append(" ");
    const span = document.createElement("span");
    span.className = "tok";
    span.textContent = part;
    code.append(span);
  });
}

// ---------------------------------------------------------------------------------------------
// Settings form

function field(name) {
  return $(FIELD_IDS[name]);
}

function authMode() {
  return $("auth-token").checked ? "token" : "key";
}

function applyAuthMode(mode) {
  $("auth-token").checked = mode === "token";
  $("auth-key").checked = mode !== "token";
  $("token-field").hidden = mode !== "token";
  $("key-field").hidden = mode === "token";
}

function randomHex(n) {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, n);
}

async function fetchConfig() {
  try {
    const resp = await fetch("config.json", { cache: "no-store" });
    if (!resp.ok) return {};
    const data = await resp.json();
    return data && typeof data === "object" && !Array.isArray(data) ? data : {};
  } catch {
    return {};
  }
}

// Is this page served by a colonies server? Then that server is the natural default.
async function pageOriginIsColonies() {
  if (!/^https?:$/.test(location.protocol)) return false;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 1500);
  try {
    const resp = await fetch(`${location.origin}/health`, { cache: "no-store", signal: ctrl.signal });
    if (!resp.ok) return false;
    // The colonies server answers /health with 200 and an empty body (a static server would 404).
    const body = await resp.text();
    return body.trim().length < 64 && !/<html/i.test(body);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function prefill() {
  const config = await fetchConfig();
  // A built site (colonies wasm build) names its server; only a page without one asks whether
  // its own origin is a colonies server (a static server would answer /health with a 404).
  const named = typeof config.serverUrl === "string" && config.serverUrl !== "";
  const sameOrigin = !named && (await pageOriginIsColonies());
  const defaults = {
    serverUrl: sameOrigin ? location.origin : "http://localhost:50080",
    colonyName: "dev",
    executorName: (storageGet(EXECUTOR_KEY) && storageGet(EXECUTOR_NAME_KEY)) ||
      `wasm-executor-${randomHex(4)}`,
    executorType: "wasm",
    joinToken: "",
    colonyPrvKey: "",
  };
  for (const name of FIELDS) {
    let value = defaults[name];
    const fromConfig = config[name];
    if (typeof fromConfig === "string" && fromConfig !== "") value = fromConfig;
    if (typeof edits[name] === "string") value = edits[name];
    field(name).value = value;
  }
  // A join token is the way in (the colony key stays with the colony owner), unless the page
  // was configured with the key.
  let mode = "token";
  if (typeof config.colonyPrvKey === "string" && config.colonyPrvKey && !config.joinToken) mode = "key";
  if (edits.authMode === "token" || edits.authMode === "key") mode = edits.authMode;
  applyAuthMode(mode);
  renderTryIt();
}

function readSettings() {
  const get = (name) => field(name).value.trim();
  const mode = authMode();
  return {
    serverUrl: get("serverUrl").replace(/\/+$/, ""),
    colonyName: get("colonyName"),
    executorName: get("executorName"),
    executorType: get("executorType"),
    colonyPrvKey: mode === "key" ? get("colonyPrvKey") : "",
    joinToken: mode === "token" ? get("joinToken") : "",
    executorPrvKey: storageGet(EXECUTOR_KEY) || "",
  };
}

// Mark the first invalid field, or return true.
function validate(settings) {
  const checks = [
    ["serverUrl", /^https?:\/\/[^\s/]+/i.test(settings.serverUrl), "Enter the server URL, starting with http:// or https://."],
    ["colonyName", settings.colonyName !== "", "Enter the colony name."],
    ["executorName", settings.executorName !== "", "Enter a name for this executor."],
    ["executorType", settings.executorType !== "", "Enter the executor type, e.g. wasm."],
  ];
  if (authMode() === "token") checks.push(["joinToken", settings.joinToken !== "", "Paste a join token, or choose the colony private key."]);
  else checks.push(["colonyPrvKey", settings.colonyPrvKey !== "", "Enter the colony private key, or choose a join token."]);

  for (const name of FIELDS) {
    field(name).removeAttribute("aria-invalid");
    field(name).setCustomValidity("");
  }
  for (const [name, ok, message] of checks) {
    if (!ok) {
      const el = field(name);
      el.setAttribute("aria-invalid", "true");
      el.setCustomValidity(message);
      el.reportValidity();
      el.focus();
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Worker

let worker = null;

function startWorker() {
  try {
    worker = new Worker("./worker.mjs", { type: "module" });
  } catch (err) {
    bootFailed(`Could not start the Python worker: ${err?.message || err}`);
    return;
  }
  worker.addEventListener("message", (event) => onMessage(event.data));
  worker.addEventListener("error", (event) => {
    event.preventDefault?.();
    const detail = event.message ||
      "worker.mjs failed to load. Check that worker.mjs and the Pyodide files are served next to this page";
    if (!model.ready) bootFailed(`The Python worker failed to start: ${detail}`);
    else onFatal(`The Python worker crashed: ${detail}`);
  });
  worker.addEventListener("messageerror", () => addLog("error", "A message from the worker could not be read."));
}

function post(message) {
  if (worker) worker.postMessage(message);
}

function bootFailed(message) {
  setRuntime("error", "Python runtime: failed to boot");
  model.ready = false;
  model.running = false;
  model.stopping = false;
  setState("error", "error"); // the message itself is shown once, in the error box
  showError(message, "The Python runtime did not start");
  schedule("controls");
}

function onFatal(message) {
  model.running = false;
  model.stopping = false;
  model.timings.stoppedAt = performance.now();
  setState("error", "error"); // the message itself is shown once, in the error box
  showError(message);
  schedule("controls");
}

function onStopped(completed, failed) {
  const wasActive = model.running || model.stopping;
  model.running = false;
  model.stopping = false;
  if (Number.isFinite(completed)) model.counters.completed = completed;
  if (Number.isFinite(failed)) model.counters.failed = failed;
  schedule("counters");
  if (model.state !== "error") setState("stopped", "stopped"); // a fatal error stays visible
  if (wasActive) {
    model.timings.stoppedAt = performance.now();
    addLog("status", `stopped (${model.counters.completed} completed, ${model.counters.failed} failed)`);
  }
  schedule("controls");
}

function recordRun(kind, data) {
  if (kind === "completed") model.counters.completed += 1;
  else model.counters.failed += 1;
  if (typeof data.seconds === "number" && Number.isFinite(data.seconds)) {
    runMsTotal += data.seconds * 1000;
    runMsCount += 1;
    model.counters.meanMs = runMsTotal / runMsCount;
  }
  schedule("counters");
}

function runMessage(kind, data) {
  if (data.message) return data.message;
  const fn = data.funcname || "process";
  return kind === "completed" ? `${fn} completed` : `${fn} failed`;
}

function onStatusEvent(data) {
  const message = String(data.message || "");
  // While stopping, only the final "stopped" may replace "stopping…".
  if (model.stopping && !message.startsWith("stopped")) return;
  // A straggler after the executor stopped (or failed) must not bring back "polling".
  if (!model.running && !model.stopping) {
    if (!/^(polling|running|stopped)/.test(message)) addLog("status", message);
    return;
  }

  if (model.state === "reconnecting" && !message.startsWith("reconnecting")) {
    hideError(); // the server answers again
  }
  if (message.startsWith("polling")) {
    if (model.state !== "polling") setState("polling", "polling");
    return; // once per long-poll: never logged
  }
  if (message.startsWith("running")) {
    const fn = data.funcname || message.slice("running".length).trim();
    const status = fn ? `running ${fn}` : "running";
    if (model.status !== status) setState("running", status);
    return; // once per process; the completed/failed entry follows
  }
  if (message.startsWith("registering")) {
    setState("registering", "registering…");
  } else if (message.startsWith("registered")) {
    if (model.timings.registeredAt !== null && message === "registered") {
      if (model.state !== "polling" && model.state !== "running") setState("registered", "registered");
      return; // the "registered" message was already logged, with the executor ID
    }
    if (model.timings.registeredAt === null) model.timings.registeredAt = performance.now();
    setState("registered", "registered");
  } else if (message.startsWith("reconnecting")) {
    const detail = message.replace(/^reconnecting:?\s*/, "");
    setState("reconnecting", "reconnecting…", detail);
    // Not fatal (the executor keeps trying), but say plainly what is wrong.
    if (explainError(detail, lastSettings).title === "Connection error") {
      showError(detail, "Connection error (retrying)");
    }
  } else if (message.startsWith("paused")) {
    setState("paused", "paused", message.replace(/^paused:?\s*/, ""));
  } else if (message.startsWith("stopped")) {
    onStopped();
    return;
  }
  addLog("status", message);
}

function onMessage(data) {
  if (!data || typeof data !== "object") return;
  switch (data.type) {
    case "booting":
      setRuntime("booting", "Python runtime: booting…");
      if (!model.ready) setState("booting", "booting Python…");
      break;

    case "ready": {
      model.ready = true;
      model.timings.readyAt = performance.now();
      model.timings.bootMs = typeof data.bootMs === "number" ? data.bootMs : null;
      model.functions = Array.isArray(data.functions) ? data.functions.map(String) : [];
      model.parameters = data.parameters && typeof data.parameters === "object" ? data.parameters : {};
      model.pythonVersion = data.pythonVersion ? String(data.pythonVersion) : "";
      const secs = model.timings.bootMs !== null ? model.timings.bootMs / 1000 : model.timings.readyAt / 1000;
      setRuntime("ready", `Python runtime: ready in ${secs.toFixed(1)} s`);
      $("runtime").title = model.pythonVersion
        ? `Python ${model.pythonVersion} (Pyodide) in a Web Worker`
        : "Pyodide in a Web Worker";
      if (!selectedFunction && model.functions.length) {
        selectedFunction = model.functions.includes("add") ? "add" : model.functions[0];
      }
      renderFunctions();
      if (!model.running) setState("ready", "ready");
      addLog("info", `Python${model.pythonVersion ? ` ${model.pythonVersion}` : ""} ready in ${secs.toFixed(1)} s; ` +
        `${model.functions.length} function${model.functions.length === 1 ? "" : "s"} available`);
      schedule("controls");
      break;
    }

    case "snapshot":
      // "restored": this load started from the saved snapshot; "saved": the next one will.
      model.snapshot = data.restored ? "restored" : data.saved ? "saved" : "unsaved";
      if (!data.restored) {
        addLog("info", data.saved
          ? `Python snapshot saved (${(Number(data.bytes) / 1048576).toFixed(0)} MiB): the next load starts faster`
          : "Python snapshot not saved (no IndexedDB here): every load boots in full");
      }
      break;

    case "registered": {
      if (model.timings.registeredAt === null) model.timings.registeredAt = performance.now();
      if (data.executorPrvKey) storageSet(EXECUTOR_KEY, String(data.executorPrvKey));
      if (data.executorName) storageSet(EXECUTOR_NAME_KEY, String(data.executorName));
      if (data.executorId) {
        model.executorId = String(data.executorId);
        storageSet(EXECUTOR_ID_KEY, model.executorId);
      }
      if (!model.stopping) setState("registered", "registered");
      const name = data.executorName ? ` as ${data.executorName}` : "";
      addLog("status", `registered${name} (executor ${model.executorId.slice(0, 16)}…)`);
      schedule("controls");
      break;
    }

    case "events": // a batch of "event" messages (the worker groups completions under load)
      for (const one of Array.isArray(data.events) ? data.events : []) onMessage(one);
      break;

    case "event": {
      const kind = data.kind;
      if (kind === "status") {
        onStatusEvent(data);
      } else if (kind === "completed" || kind === "failed") {
        recordRun(kind, data);
        addLog(kind, runMessage(kind, data), {
          processid: data.processid ? String(data.processid) : "",
          funcname: data.funcname ? String(data.funcname) : "",
          seconds: typeof data.seconds === "number" ? data.seconds : undefined,
          processgraphid: data.processgraphid ? String(data.processgraphid) : "",
        });
      } else {
        addLog(kind === "error" ? "error" : "log", String(data.message ?? ""), {
          processid: data.processid ? String(data.processid) : "",
        });
      }
      break;
    }

    case "stopped":
      onStopped(Number(data.completed), Number(data.failed));
      break;

    case "error":
      if (!model.ready) bootFailed(String(data.message || "unknown error"));
      else onFatal(String(data.message || "unknown error"));
      break;

    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// User actions

function start() {
  if (!model.ready || model.running || model.stopping) return;
  const settings = readSettings();
  if (!validate(settings)) return;

  lastSettings = settings;
  model.timings.startClickedAt = performance.now();
  model.timings.registeredAt = null;
  model.timings.stoppedAt = null;
  model.counters.completed = 0;
  model.counters.failed = 0;
  model.counters.meanMs = null;
  runMsTotal = 0;
  runMsCount = 0;
  model.running = true;
  hideError();
  setState("registering", "registering…");
  addLog("info", `starting ${settings.executorName} (${settings.executorType}) on colony ${settings.colonyName} at ${settings.serverUrl}`);
  schedule("counters");
  schedule("controls");
  post({ type: "start", settings });
}

function stop() {
  if (!model.running || model.stopping) return;
  model.stopping = true;
  setState("stopping", "stopping…");
  addLog("status", "stopping…");
  schedule("controls");
  post({ type: "stop" });
}

function resetKey() {
  if (model.running || model.stopping) return;
  storageRemove(EXECUTOR_KEY);
  storageRemove(EXECUTOR_ID_KEY);
  storageRemove(EXECUTOR_NAME_KEY);
  model.executorId = "";
  addLog("info", "Executor key forgotten; a new one is generated on the next start.");
  schedule("controls");
}

function wireForm() {
  for (const name of FIELDS) {
    field(name).addEventListener("input", (event) => {
      rememberEdit(name, event.target.value);
      event.target.removeAttribute("aria-invalid");
      event.target.setCustomValidity("");
      if (name === "executorType") renderTryIt();
    });
  }
  for (const id of ["auth-token", "auth-key"]) {
    $(id).addEventListener("change", () => {
      const mode = authMode();
      rememberEdit("authMode", mode);
      applyAuthMode(mode);
    });
  }
  const toggle = $("toggle-prvkey");
  toggle.addEventListener("click", () => {
    const input = $("colony-prvkey");
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    toggle.textContent = show ? "Hide" : "Show";
    toggle.setAttribute("aria-pressed", String(show));
    toggle.setAttribute("aria-label", show ? "Hide colony private key" : "Show colony private key");
  });
  $("settings").addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
  stopBtn.addEventListener("click", stop);
  resetKeyBtn.addEventListener("click", resetKey);
  $("log-clear").addEventListener("click", () => {
    model.log.length = 0;
    pendingLog = [];
    clearLogDom = true;
    schedule("log");
  });
}

// ---------------------------------------------------------------------------------------------
// Boot

startWorker(); // first, so Pyodide boots while the form is prefilled
model.executorId = storageGet(EXECUTOR_KEY) ? storageGet(EXECUTOR_ID_KEY) || "" : "";
applyAuthMode("key");
wireForm();
schedule("status");
schedule("counters");
schedule("controls");
prefill();
