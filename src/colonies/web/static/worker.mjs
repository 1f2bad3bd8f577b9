// The browser executor's Web Worker: boots Pyodide (CPython in WebAssembly) off the UI thread,
// loads the colonies SDK from colonies.zip and runs colonies.browser.start/stop on request.
// Protocol with the page (app.js): see colonies/browser.py and the page's README section.
//
// Later loads start from a memory snapshot: after the first full boot (interpreter start-up,
// stdlib and colonies imports: ~3 s), a second worker (this file with ?snapshot) boots again
// in snapshot mode, takes a snapshot of Pyodide's memory and saves it to IndexedDB; the next
// load restores it instead of booting (~1 s to ready). A separate worker, because an instance
// made for a snapshot keeps JS globals at arm's length (`js.navigator.userAgent` fails in it),
// and after "ready", so the first load is not slowed. The snapshot belongs to one Pyodide
// version and one colonies.zip (a server with other code or functions makes a new one); one
// that cannot be read or restored means a full boot, which replaces it.
import { loadPyodide, version as pyodideVersion } from "./pyodide/pyodide.mjs";

const LIB = "/home/pyodide/colonies-lib";
const INDEX_URL = new URL("./pyodide/", import.meta.url).href;
const started = performance.now();
let browser = null;
let running = false;
let toPy = null;

function post(message) {
  // Messages from Python arrive as PyProxy dicts: turn them into plain objects first.
  self.postMessage(message && message.toJs
    ? message.toJs({ dict_converter: Object.fromEntries })
    : message);
}

// --- the snapshot store: one IndexedDB record { key, bytes } ---------------------------------
const DB_NAME = "colonies-executor";
const DB_STORE = "snapshot";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function snapshotStore(mode) {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(DB_STORE);
  const db = await request(open);
  const tx = db.transaction(DB_STORE, mode);
  tx.oncomplete = tx.onabort = tx.onerror = () => db.close();
  return tx.objectStore(DB_STORE);
}

async function readSnapshot() {
  // The saved record ({ key, bytes }), or null; its key is checked by the caller.
  try {
    return (await request((await snapshotStore("readonly")).get("pyodide"))) || null;
  } catch {
    return null; // no IndexedDB (some private modes): boot in full
  }
}

async function writeSnapshot(key, bytes) {
  try {
    await request((await snapshotStore("readwrite")).put({ key, bytes }, "pyodide"));
    return true;
  } catch {
    return false; // a full disk or no IndexedDB: the next load boots in full again
  }
}

function fingerprint(bytes) {
  // FNV-1a over colonies.zip: tells one server's code from another's (not a security check:
  // the snapshot is this origin's own data).
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return `${pyodideVersion}/${bytes.length}/${(hash >>> 0).toString(16)}`;
}

// --- boot ----------------------------------------------------------------------------------
function importColonies(py, archive) {
  // The files are unpacked again after a restore too: MEMFS is not part of the snapshot, and
  // modules imported later (a function's) are read from it.
  py.unpackArchive(archive, "zip", { extractDir: LIB });
  py.runPython(`import sys\nif "${LIB}" not in sys.path: sys.path.insert(0, "${LIB}")`);
  return py.pyimport("colonies.browser");
}

async function fetchArchive() {
  const response = await fetch(new URL("./colonies.zip", import.meta.url));
  if (!response.ok) throw new Error(`colonies.zip: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function restore(archive, snapshot) {
  try {
    const py = await loadPyodide({ indexURL: INDEX_URL, _loadSnapshot: snapshot });
    return [py, importColonies(py, archive)];
  } catch (e) {
    console.warn("colonies: the saved Python snapshot did not restore; booting in full", e);
    return [null, null];
  }
}

// What the page hears when no snapshot could be saved.
const UNSAVED = { type: "snapshot", restored: false, saved: false, bytes: 0 };

function saveSnapshotInBackground(archive) {
  // Reports {type: "snapshot", restored: false, saved, bytes} to the page when done. The maker
  // gets the same colonies.zip bytes, so its snapshot is saved under this load's fingerprint.
  if (typeof Worker === "undefined" || typeof indexedDB === "undefined") {
    self.postMessage(UNSAVED);
    return;
  }
  const maker = new Worker(new URL("./worker.mjs?snapshot", import.meta.url), { type: "module" });
  const done = (message) => {
    self.postMessage(message);
    maker.terminate();
  };
  maker.onmessage = (event) => done(event.data);
  maker.onerror = () => done(UNSAVED);
  maker.postMessage({ archive });
}

async function boot() {
  self.postMessage({ type: "booting" });
  const [archive, record] = await Promise.all([fetchArchive(), readSnapshot()]);
  let py = null;
  if (record && record.key === fingerprint(archive)) {
    [py, browser] = await restore(archive, record.bytes);
  }
  const restored = py !== null;
  if (!restored) {
    py = await loadPyodide({ indexURL: INDEX_URL });
    browser = importColonies(py, archive);
  }
  const runtimeMs = performance.now() - started;
  toPy = (value) => py.toPy(value);
  const functions = browser.offered().toJs();
  const parameters = browser.parameters().toJs({ dict_converter: Object.fromEntries });
  self.postMessage({
    type: "ready",
    bootMs: performance.now() - started,
    runtimeMs,
    restored,
    functions,
    parameters,
    pythonVersion: browser.python_version(),
  });
  if (restored) self.postMessage({ type: "snapshot", restored: true, saved: true, bytes: 0 });
  else saveSnapshotInBackground(archive);
}

async function makeSnapshot(archive) {
  // The ?snapshot worker: boot in snapshot mode, import colonies, save, report, end.
  const py = await loadPyodide({ indexURL: INDEX_URL, _makeSnapshot: true });
  importColonies(py, archive);
  const bytes = py.makeMemorySnapshot();
  const saved = await writeSnapshot(fingerprint(archive), bytes);
  self.postMessage({ type: "snapshot", restored: false, saved, bytes: bytes.length });
}

function serve() {
  const booted = boot().catch((e) => {
    self.postMessage({ type: "error", message: `Python runtime failed to boot: ${e.message || e}` });
    throw e;
  });
  self.onmessage = async (event) => {
    const message = event.data || {};
    await booted;
    if (message.type === "start" && !running) {
      running = true;
      try {
        await browser.start(toPy(message.settings), post);
      } finally {
        running = false;
      }
    } else if (message.type === "stop") {
      browser.stop();
    }
  };
}

if (new URL(import.meta.url).searchParams.has("snapshot")) {
  self.onmessage = (event) => {
    makeSnapshot(event.data.archive).catch(() => self.postMessage(UNSAVED));
  };
} else {
  serve();
}
