// @imagekit/nodejs@7's file listing and search against the emulator's files API.
import test from 'node:test';
import assert from 'node:assert/strict';
import ImageKit, { toFile } from '@imagekit/nodejs';
import c from './common.cjs';

const client = new ImageKit({ privateKey: c.privateKey, baseURL: c.base, maxRetries: 0 });

test('assets.list with path, searchQuery, type and sort', async () => {
  for (const name of ['a.png', 'b.png']) {
    await client.files.upload({ file: await toFile(c.png, name), fileName: name, folder: '/v7list/sub', useUniqueFileName: false });
  }
  const files = await client.assets.list({ path: '/v7list/sub', searchQuery: 'name = "b.png"', sort: 'DESC_SIZE' });
  assert.deepEqual(files.map((f) => f.name), ['b.png']);
  const folders = await client.assets.list({ path: '/v7list', type: 'folder' });
  assert.ok(folders.every((f) => f.type === 'folder') && folders.length > 0);
});
