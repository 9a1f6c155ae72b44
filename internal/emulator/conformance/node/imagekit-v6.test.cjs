'use strict';
// imagekit@6 (the most used Node SDK) against the emulator.
const test = require('node:test');
const assert = require('node:assert/strict');
const axios = require('axios');
const ImageKit = require('imagekit');
const c = require('./common.cjs');

// imagekit@6 writes its hosts (upload.imagekit.io, api.imagekit.io) into every
// method. It sends through the shared axios instance, so an interceptor moves each
// request to the emulator and leaves everything else the SDK does untouched.
axios.interceptors.request.use((cfg) => ({ ...cfg, url: c.redirect(cfg.url) }));

const ik = new ImageKit({ publicKey: c.publicKey, privateKey: c.privateKey, urlEndpoint: `${c.base}/emulator` });
const folder = '/v6';

test('upload bytes, then details and versions', async () => {
  const up = await ik.upload({ file: c.png, fileName: 'bytes.png', folder, useUniqueFileName: false, tags: ['a', 'b'] });
  assert.equal(up.filePath, `${folder}/bytes.png`);
  assert.equal(up.size, c.png.length);
  assert.equal(up.width, 1);
  assert.equal(up.orientation, 1);
  const d = await ik.getFileDetails(up.fileId);
  assert.equal(d.fileId, up.fileId);
  assert.equal(d.type, 'file');
  assert.deepEqual(d.tags, ['a', 'b']);
  assert.match(d.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(typeof d.embeddedMetadata, 'object');
  assert.equal(d.extensionStatus, undefined);
  await ik.upload({ file: c.png, fileName: 'bytes.png', folder, useUniqueFileName: false });
  const versions = await ik.getFileVersions(up.fileId);
  assert.deepEqual(versions.map((v) => v.type), ['file-version', 'file']);
});

test('upload base64 and URL sources', async () => {
  const b = await ik.upload({ file: c.pngBase64, fileName: 'b64.png', folder });
  assert.equal(b.size, c.png.length);
  const u = await ik.upload({ file: c.sourceURL, fileName: 'url.png', folder });
  assert.equal(u.fileType, 'image');
  assert.ok(u.size > 0);
});

test('a wrong private key is 403', async () => {
  const bad = new ImageKit({ publicKey: c.publicKey, privateKey: 'private_wrong', urlEndpoint: `${c.base}/emulator` });
  await assert.rejects(bad.getFileDetails('000000000000000000000000'), (err) => {
    assert.equal(err.message, 'Your account cannot be authenticated.');
    assert.equal(err.help, 'For support kindly contact us at support@imagekit.io .');
    assert.equal(err.$ResponseMetadata.statusCode, 403);
    return true;
  });
});

test('client-side upload signed with getAuthenticationParameters (v1)', async () => {
  const auth = ik.getAuthenticationParameters();
  const r = await c.clientUpload(1, { file: c.png, fileName: 'signed.png', publicKey: c.publicKey, ...auth });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const again = await c.clientUpload(1, { file: c.png, fileName: 'signed.png', publicKey: c.publicKey, ...auth });
  assert.equal(again.status, 400, 'a token is single-use');
});

test('client-side upload with a JWT (v2)', async () => {
  const r = await c.clientUpload(2, { file: c.png, fileName: 'jwt-v6.png', token: c.jwt({ fileName: 'jwt-v6.png' }) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

test('custom metadata fields', async () => {
  const f = await ik.createCustomMetadataField({ name: 'v6_brand', label: 'V6 Brand', schema: { type: 'Text', maxLength: 20 } });
  assert.ok(f.id);
  const list = await ik.getCustomMetadataFields({ includeDeleted: false });
  assert.ok(list.some((x) => x.id === f.id));
  const u = await ik.updateCustomMetadataField(f.id, { label: 'V6 Maker' });
  assert.equal(u.label, 'V6 Maker');
  await ik.deleteCustomMetadataField(f.id);
  await assert.rejects(ik.createCustomMetadataField({ name: 'v6_brand', label: 'Again', schema: { type: 'Text' } }));
});

test('account webhooks verified with verifyWebhookEvent', async () => {
  await ik.upload({ file: c.png, fileName: 'hook.png', folder, transformation: { post: [{ type: 'transformation', value: 'w-10' }] } });
  const [ev] = await c.events(1);
  const { event } = ik.verifyWebhookEvent(ev.body, ev.headers['x-ik-signature'], c.webhookSecret);
  assert.match(event.type, /^upload\./);
  assert.throws(() => ik.verifyWebhookEvent(c.tamper(ev.body), ev.headers['x-ik-signature'], c.webhookSecret));
  assert.throws(() => ik.verifyWebhookEvent(ev.body, ev.headers['x-ik-signature'], 'whsec_wrong'));
});
