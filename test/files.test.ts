// src/util/files.ts: the one atomic write of the harness (reports, the build
// cache's completion markers, compare's files): never half a file, never a
// temporary file left behind, and two writers of one file never collide.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { replaceSymlink, writeFileAtomic } from '../src/util/files.ts';

describe('util/files: atomic writes', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-files-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the content and leaves nothing else in the folder', async () => {
    const file = path.join(tmp, 'results.json');
    await writeFileAtomic(file, '{"a":1}\n');
    await writeFileAtomic(file, Buffer.from('{"a":2}\n'));
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"a":2}\n');
    expect(fs.readdirSync(tmp)).to.deep.equal(['results.json']);
  });

  it('two writes of one file at once in one process both succeed, and the file is one of them whole', async () => {
    const file = path.join(tmp, 'marker.json');
    const a = 'a'.repeat(1 << 20);
    const b = 'b'.repeat(1 << 20);
    await Promise.all([writeFileAtomic(file, a), writeFileAtomic(file, b)]);
    expect([a, b]).to.include(fs.readFileSync(file, 'utf8'));
    expect(fs.readdirSync(tmp)).to.deep.equal(['marker.json']);
  });

  it('a write that cannot be renamed into place fails and leaves no temporary file', async () => {
    const target = path.join(tmp, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'data'), 'kept');
    const error = await writeFileAtomic(target, 'x').then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException);
    expect(error?.code).to.be.oneOf(['EISDIR', 'ENOTEMPTY', 'EEXIST']);
    expect(fs.readdirSync(tmp)).to.deep.equal(['taken']);
    expect(fs.readFileSync(path.join(target, 'data'), 'utf8')).to.equal('kept');
  });

  it('makes the file with the mode asked for, else as writeFile would', async () => {
    const secret = path.join(tmp, 'secret');
    await writeFileAtomic(secret, 'key', { mode: 0o600 });
    expect(fs.statSync(secret).mode & 0o777).to.equal(0o600);
    const plain = path.join(tmp, 'plain');
    const reference = path.join(tmp, 'reference');
    await writeFileAtomic(plain, 'report');
    fs.writeFileSync(reference, 'report');
    expect(fs.statSync(plain).mode & 0o777).to.equal(fs.statSync(reference).mode & 0o777);
  });

  it('replaceSymlink points a link at its target by a relative path, over an older link', async () => {
    fs.mkdirSync(path.join(tmp, 'run-1'));
    fs.mkdirSync(path.join(tmp, 'run-2'));
    const link = path.join(tmp, 'latest');
    await replaceSymlink(link, path.join(tmp, 'run-1'));
    await replaceSymlink(link, path.join(tmp, 'run-2'));
    expect(fs.readlinkSync(link)).to.equal('run-2');
    expect(fs.readdirSync(tmp).sort()).to.deep.equal(['latest', 'run-1', 'run-2']);
  });
});
