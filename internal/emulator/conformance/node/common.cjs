'use strict';
// What both SDK scripts share: the emulator's address and keys (set by node_test.go),
// a small PNG, account events the Go harness received, and v1/v2 client-side auth
// built as ImageKit's docs describe it.
const crypto = require('node:crypto');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these scripts through go test ./internal/emulator/conformance`);
  return v;
}

const base = env('IKQ_CONFORMANCE_URL');
const privateKey = env('IKQ_CONFORMANCE_PRIVATE_KEY');
const publicKey = env('IKQ_CONFORMANCE_PUBLIC_KEY');
const webhookSecret = env('IKQ_CONFORMANCE_WEBHOOK_SECRET');
const eventsURL = env('IKQ_CONFORMANCE_EVENTS_URL');
const sourceURL = env('IKQ_CONFORMANCE_SOURCE_URL');

// A 1x1 PNG.
const pngBase64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const png = Buffer.from(pngBase64, 'base64');

// redirect points a request for ImageKit's hosts at the emulator.
function redirect(url) {
  return url.replace(/^https:\/\/(upload|api)\.imagekit\.io/, base);
}

// events returns the account events delivered so far, waiting for at least n.
async function events(n = 1) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(eventsURL);
    const list = await res.json();
    if (list && list.length >= n) return list;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${n} account events arrived`);
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

// jwt is a v2 upload token: HS256 with the private key, kid the public key, and
// the upload's parameters (but file and token) as claims.
function jwt(claims) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: publicKey }));
  const body = b64url(JSON.stringify({ ...claims, iat: now, exp: now + 600 }));
  const sig = crypto.createHmac('sha256', privateKey).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// clientUpload posts a client-side upload (no private key) as a browser would.
async function clientUpload(version, fields) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'file') form.append(k, new Blob([v], { type: 'image/png' }), 'a.png');
    else form.append(k, String(v));
  }
  const res = await fetch(`${base}/api/v${version}/files/upload`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() };
}

// tamper changes a body's bytes without changing its meaning.
function tamper(body) {
  return body.replace(/}\s*$/, ' }');
}

module.exports = { base, privateKey, publicKey, webhookSecret, sourceURL, png, pngBase64, redirect, events, jwt, clientUpload, tamper };
