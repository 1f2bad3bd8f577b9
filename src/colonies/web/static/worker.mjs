// The browser executor's Web Worker: boots Pyodide (CPython in WebAssembly) off the UI thread,
// loads the colonies SDK from colonies.zip and runs colonies.browser.start/stop on request.
// Protocol with the page (app.js): see colonies/browser.py and the page's README section.
//
// Python runs from a memory snapshot: a full boot (interpreter start-up, stdlib and colonies
// imports: ~3 s) ends in a snapshot of Pyodide's memory, which is restored (~0.5 s) and saved
// to IndexedDB, so that later loads only restore it. The snapshot belongs to one Pyodide
// version and one colonies.zip (a server with other code or functions makes a new one); if it
// cannot be read or restored, the worker boots in full and replaces it.
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

async function readSnapshot(key) {
  try {
    const record = await request((await snapshotStore("readonly")).get("pyodide"));
    return record && record.key === key && record.bytes.length ? record.bytes : null;
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

async function boot() {
  self.postMessage({ type: "booting" });
  const response = await fetch(new URL("./colonies.zip", import.meta.url));
  if (!response.ok) throw new Error(`colonies.zip: HTTP ${response.status}`);
  const archive = new Uint8Array(await response.arrayBuffer());
  const key = fingerprint(archive);
  let snapshot = await readSnapshot(key);
  let restored = snapshot !== null;
  if (!snapshot) {
    // A full boot in snapshot mode, then the snapshot is what runs: an instance made for a
    // snapshot keeps JS globals at arm's length (`js.navigator.userAgent` fails there), and
    // first and later loads then run the same way.
    const maker = await loadPyodide({ indexURL: INDEX_URL, _makeSnapshot: true });
    importColonies(maker, archive);
    snapshot = maker.makeMemorySnapshot();
  }
  let py;
  try {
    py = await loadPyodide({ indexURL: INDEX_URL, _loadSnapshot: snapshot });
    browser = importColonies(py, archive);
  } catch (e) {
    if (!restored) throw e;
    console.warn("colonies: the saved Python snapshot did not restore; booting in full", e);
    await writeSnapshot(key, new Uint8Array(0)); // an empty snapshot is never read back
    return boot();
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
  // Before a start, which awaits `booted`; the page shows whether the next load can restore.
  const saved = restored || (await writeSnapshot(key, snapshot));
  self.postMessage({ type: "snapshot", restored, saved, bytes: snapshot.length });
}

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
