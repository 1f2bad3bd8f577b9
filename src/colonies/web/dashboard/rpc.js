// Signed ColonyOS RPCs over the server's /rpc WebSocket (one socket for the whole page).
// Each frame is {"id", "body": signed envelope} and gets {"id", "status", "body": reply}.
// The socket reconnects by itself; calls made while it is down wait for it (or fail after a
// timeout), so a restarting server shows as "reconnecting", not as a broken page.
import { buildRequest, unbase64 } from "./signer.js";

export class RpcError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class RpcSocket {
  constructor(url, { timeoutMs = 15000, onState = () => {} } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.onState = onState;
    this.nextId = 1;
    this.pending = new Map();
    this.waiting = [];
    this.socket = null;
    this.state = "connecting";
    this.retryMs = 250;
    this.closed = false;
    this.connect();
  }

  setState(state) {
    if (state !== this.state) {
      this.state = state;
      this.onState(state);
    }
  }

  connect() {
    if (this.closed) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 250;
      this.setState("open");
      for (const { id, frame } of this.waiting.splice(0)) {
        const call = this.pending.get(id);
        if (call) {
          call.sent = true;
          socket.send(frame);
        }
      }
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      for (const [id, call] of this.pending) {
        if (call.sent) {
          this.pending.delete(id);
          call.reject(new RpcError(0, "The connection to the server was lost"));
        }
      }
      if (this.closed) return;
      this.setState("reconnecting");
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 4000);
    };
  }

  close() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const call = this.pending.get(frame.id);
    if (!call) return;
    this.pending.delete(frame.id);
    clearTimeout(call.timer);
    try {
      call.resolve(decodeReply(frame.status, frame.body));
    } catch (error) {
      call.reject(error);
    }
  }

  /** The decoded reply payload of `msg` signed with `prvkey`; RpcError on a server error. */
  call(msg, prvkey) {
    const id = this.nextId++;
    const frame = JSON.stringify({ id, body: buildRequest(msg, prvkey) });
    return new Promise((resolve, reject) => {
      const call = { resolve, reject, sent: false };
      call.timer = setTimeout(() => {
        this.pending.delete(id);
        this.waiting = this.waiting.filter((queued) => queued.id !== id);
        reject(new RpcError(0, "The server did not answer in time"));
      }, this.timeoutMs);
      this.pending.set(id, call);
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        call.sent = true;
        this.socket.send(frame);
      } else {
        this.waiting.push({ id, frame });
      }
    });
  }
}

/** The payload of a reply envelope, or RpcError with the server's message. */
export function decodeReply(status, body) {
  let envelope;
  let payload;
  try {
    envelope = JSON.parse(body);
    payload = envelope.payload ? JSON.parse(unbase64(envelope.payload)) : null;
  } catch {
    throw new RpcError(status, `Unexpected reply from the server (HTTP ${status})`);
  }
  if (envelope.error || envelope.payloadtype === "error" || status !== 200) {
    const message = payload && typeof payload === "object" ? payload.message : String(payload);
    const code = payload && typeof payload.status === "number" ? payload.status : status;
    throw new RpcError(code, message || `HTTP ${status}`);
  }
  return payload;
}
