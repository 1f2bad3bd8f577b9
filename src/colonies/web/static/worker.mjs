// The browser executor's Web Worker: boots Pyodide (CPython in WebAssembly) off the UI thread,
// loads the colonies SDK from colonies.zip and runs colonies.browser.start/stop on request.
// Protocol with the page (app.js): see colonies/browser.py and the page's README section.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const LIB = "/home/pyodide/colonies-lib";
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

async function boot() {
  self.postMessage({ type: "booting" });
  const [py, archive] = await Promise.all([
    loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href }),
    fetch(new URL("./colonies.zip", import.meta.url)).then((r) => {
      if (!r.ok) throw new Error(`colonies.zip: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
  ]);
  const runtimeMs = performance.now() - started;
  py.unpackArchive(archive, "zip", { extractDir: LIB });
  py.runPython(`import sys; sys.path.insert(0, "${LIB}")`);
  browser = py.pyimport("colonies.browser");
  toPy = (value) => py.toPy(value);
  const functions = browser.offered().toJs();
  const parameters = browser.parameters().toJs({ dict_converter: Object.fromEntries });
  self.postMessage({
    type: "ready",
    bootMs: performance.now() - started,
    runtimeMs,
    functions,
    parameters,
    pythonVersion: browser.python_version(),
  });
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
