'use strict';
// imagekit@6's file listing and search against the emulator's files API.
const test = require('node:test');
const assert = require('node:assert/strict');
const axios = require('axios');
const ImageKit = require('imagekit');
const c = require('./common.cjs');

axios.interceptors.request.use((cfg) => ({ ...cfg, url: c.redirect(cfg.url) }));
const ik = new ImageKit({ publicKey: c.publicKey, privateKey: c.privateKey, urlEndpoint: `${c.base}/emulator` });

// listFiles asks for GET /v1/files/ (trailing slash) with path and searchQuery.
test('listFiles with path and searchQuery', async () => {
  await ik.upload({ file: c.png, fileName: 'listed.png', folder: '/v6list', useUniqueFileName: false });
  await ik.upload({ file: c.png, fileName: 'other.png', folder: '/v6list', useUniqueFileName: false });
  const files = await ik.listFiles({ path: '/v6list', searchQuery: 'name = "listed.png"' });
  assert.deepEqual(files.map((f) => f.name), ['listed.png']);
});
