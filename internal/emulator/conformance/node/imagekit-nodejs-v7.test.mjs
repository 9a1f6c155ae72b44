// @imagekit/nodejs@7 against the emulator, through its baseURL option.
import test from 'node:test';
import assert from 'node:assert/strict';
import ImageKit, { toFile } from '@imagekit/nodejs';
import c from './common.cjs';

const client = new ImageKit({ privateKey: c.privateKey, baseURL: c.base, webhookSecret: c.webhookSecret, maxRetries: 0 });
const folder = '/v7';
// Client-side uploads carry no private key: the request drops the SDK's Basic auth.
const noKey = { headers: { authorization: null } };

test('upload bytes, then details and versions', async () => {
  const up = await client.files.upload({ file: await toFile(c.png, 'a.png'), fileName: 'bytes.png', folder, useUniqueFileName: false });
  assert.equal(up.filePath, `${folder}/bytes.png`);
  assert.equal(up.size, c.png.length);
  const d = await client.files.get(up.fileId);
  assert.equal(d.type, 'file');
  assert.equal(d.mime, 'image/png');
  assert.match(d.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(typeof d.embeddedMetadata, 'object');
  await client.files.upload({ file: await toFile(c.png, 'a.png'), fileName: 'bytes.png', folder, useUniqueFileName: false });
  const versions = await client.files.versions.list(up.fileId);
  assert.deepEqual(versions.map((v) => v.type), ['file-version', 'file']);
  await assert.rejects(client.files.get('000000000000000000000000'), ImageKit.NotFoundError);
});

test('upload base64, data URI and URL sources', async () => {
  const b = await client.files.upload({ file: c.pngBase64, fileName: 'b64.png', folder });
  assert.equal(b.size, c.png.length);
  const d = await client.files.upload({ file: `data:image/png;base64,${c.pngBase64}`, fileName: 'data.png', folder });
  assert.equal(d.size, c.png.length);
  const u = await client.files.upload({ file: c.sourceURL, fileName: 'url.png', folder });
  assert.equal(u.fileType, 'image');
});

test('the ai-tasks and saved-extension extensions are pending', async () => {
  const up = await client.files.upload({
    file: await toFile(c.png, 'a.png'), fileName: 'ext.png', folder,
    extensions: [
      { name: 'ai-tasks', tasks: [{ type: 'select_tags', instruction: 'What is shown?', vocabulary: ['dot', 'line'] }] },
      { name: 'saved-extension', id: 'ext_1' },
    ],
  });
  assert.deepEqual(up.extensionStatus, { 'ai-tasks': 'pending', 'saved-extension': 'pending' });
});

test('a wrong private key is PermissionDeniedError (403)', async () => {
  const bad = new ImageKit({ privateKey: 'private_wrong', baseURL: c.base, maxRetries: 0 });
  await assert.rejects(bad.files.get('000000000000000000000000'), ImageKit.PermissionDeniedError);
});

test('client-side upload signed with helper.getAuthenticationParameters (v1)', async () => {
  const auth = client.helper.getAuthenticationParameters();
  const up = await client.files.upload(
    { file: await toFile(c.png, 'a.png'), fileName: 'signed.png', publicKey: c.publicKey, ...auth }, noKey);
  assert.ok(up.fileId);
});

test('client-side upload with a JWT (v2, beta.v2.files.upload)', async () => {
  const up = await client.beta.v2.files.upload(
    { file: await toFile(c.png, 'a.png'), fileName: 'jwt-v7.png', token: c.jwt({ fileName: 'jwt-v7.png' }) }, noKey);
  assert.ok(up.fileId);
});

test('custom metadata fields', async () => {
  const f = await client.customMetadataFields.create({
    name: 'v7_brand', label: 'V7 Brand', description: 'Who made it', schema: { type: 'Number', minValue: 1, maxValue: 9 },
  });
  assert.equal(f.description, 'Who made it');
  const list = await client.customMetadataFields.list();
  assert.ok(list.some((x) => x.id === f.id));
  const u = await client.customMetadataFields.update(f.id, { schema: { maxValue: 99 } });
  assert.equal(u.schema.maxValue, 99);
  assert.equal(u.schema.type, 'Number');
  await assert.rejects(client.customMetadataFields.update(f.id, {}), ImageKit.BadRequestError);
  await client.customMetadataFields.delete(f.id);
  await assert.rejects(client.customMetadataFields.update(f.id, { label: 'x' }), ImageKit.BadRequestError);
  await assert.rejects(
    client.customMetadataFields.create({ name: 'v7_brand', label: 'Again', schema: { type: 'Text' } }), ImageKit.BadRequestError);
});

test('account webhooks verified with webhooks.unwrap', async () => {
  await client.files.upload({
    file: await toFile(c.png, 'a.png'), fileName: 'hook.png', folder,
    transformation: { post: [{ type: 'transformation', value: 'w-10' }] },
  });
  const [ev] = await c.events(1);
  const event = client.webhooks.unwrap(ev.body, { headers: ev.headers });
  assert.match(event.type, /^upload\./);
  assert.throws(() => client.webhooks.unwrap(c.tamper(ev.body), { headers: ev.headers }));
  assert.throws(() => client.webhooks.unwrap(ev.body, { headers: ev.headers, key: 'whsec_wrong' }));
});
