// ColonyOS request signing in the browser (spec §2-3): secp256k1 recoverable signatures over
// SHA3-256 of the base64 payload, IDs as SHA3-256 of the hex public key. The elliptic-curve and
// hash code is @noble/secp256k1 and @noble/hashes (npm, pinned in web/package-lock.json); this
// file only arranges bytes the way the Go server expects. The private key never leaves the page.
import * as secp from "@noble/secp256k1";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

// RFC6979 deterministic nonces need a synchronous HMAC-SHA256.
secp.etc.hmacSha256Sync = (key, ...messages) =>
  hmac(sha256, key, secp.etc.concatBytes(...messages));

const encoder = new TextEncoder();
const HEX_KEY = /^[0-9a-f]{64}$/;

export const toHex = (bytes) => secp.etc.bytesToHex(bytes);

/** The SHA3-256 digest of a string's UTF-8 bytes, as hex. */
export function sha3Hex(text) {
  return toHex(sha3_256(encoder.encode(text)));
}

/** Why `prvkey` is not a usable private key, or "" when it is. */
export function keyProblem(prvkey) {
  const key = String(prvkey || "").trim().toLowerCase();
  if (!key) return "Enter a private key.";
  if (!HEX_KEY.test(key)) {
    return `A private key is 64 hexadecimal characters; this one has ${key.length} characters` +
      (/^[0-9a-f]*$/.test(key) ? "." : " and characters that are not hexadecimal.");
  }
  if (!secp.utils.isValidPrivateKey(key)) return "This is not a valid secp256k1 private key.";
  return "";
}

/** The uncompressed public key (04 || X || Y) as 130 hex characters. */
export function publicKey(prvkey) {
  return toHex(secp.getPublicKey(prvkey, false));
}

/** The ColonyOS ID of a private key: SHA3-256 of the ASCII hex of the public key. */
export function idFromPrivateKey(prvkey) {
  return sha3Hex(publicKey(prvkey));
}

/** hex(r || s || v) over SHA3-256(message): 130 characters, low-s, v in {0, 1}. */
export function sign(message, prvkey) {
  const digest = sha3_256(encoder.encode(message));
  const signature = secp.sign(digest, prvkey, { lowS: true });
  return signature.toCompactHex() + signature.recovery.toString(16).padStart(2, "0");
}

/** The ID that signed `message` with `signatureHex` (what the server recovers). */
export function recoverId(message, signatureHex) {
  const digest = sha3_256(encoder.encode(message));
  const compact = signatureHex.slice(0, 128);
  const recovery = parseInt(signatureHex.slice(128, 130), 16);
  const point = secp.Signature.fromCompact(compact).addRecoveryBit(recovery).recoverPublicKey(digest);
  return sha3Hex(point.toHex(false));
}

/** Base64 (standard, padded) of a string's UTF-8 bytes. */
export function base64(text) {
  const bytes = encoder.encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Text of standard base64 (UTF-8). */
export function unbase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** The signed request envelope for `msg` (an object with `msgtype`), as a JSON string. */
export function buildRequest(msg, prvkey) {
  const payload = base64(JSON.stringify(msg));
  return JSON.stringify({ signature: sign(payload, prvkey), payloadtype: msg.msgtype, payload });
}
