// The remembered apt answer (src/emulated/apt-state.ts): asked once per apt
// state, asked again when a package list or the configuration changes, never
// remembered when the question failed.
import { expect } from 'chai';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptStateKey, fileStates, recalled } from '../src/emulated/apt-state.ts';

describe('apt answers remembered per apt state', () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vnet-apt-state-'));
    saved = process.env.VNET_HARNESS_CACHE;
    process.env.VNET_HARNESS_CACHE = join(dir, 'cache');
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.VNET_HARNESS_CACHE;
    else process.env.VNET_HARNESS_CACHE = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('a package list rewritten (apt-get update) or added changes the state; the same files do not', async () => {
    const lists = join(dir, 'lists');
    await mkdir(lists);
    await writeFile(join(lists, 'a_Packages'), 'Package: x\n');
    const first = await fileStates(lists);
    expect(await fileStates(lists)).to.deep.equal(first);
    await utimes(join(lists, 'a_Packages'), new Date(), new Date(Date.now() + 5000));
    const touched = await fileStates(lists);
    expect(touched).to.not.deep.equal(first);
    await writeFile(join(lists, 'b_Packages'), 'Package: y\n');
    expect(await fileStates(lists)).to.not.deep.equal(touched);
    expect(await fileStates(join(dir, 'absent'))).to.deep.equal([`${join(dir, 'absent')} -`]);
  });

  it('asks once per state and question, again for a new state or another question', async () => {
    let state = 's1';
    let asked = 0;
    const ask = async () => ({ n: ++asked });
    const key = async () => state;
    expect(await recalled(['q'], ask, key)).to.deep.equal({ n: 1 });
    expect(await recalled(['q'], ask, key)).to.deep.equal({ n: 1 });
    expect(await recalled(['other'], ask, key)).to.deep.equal({ n: 2 });
    state = 's2';
    expect(await recalled(['q'], ask, key)).to.deep.equal({ n: 3 });
    // Without a readable apt state nothing is remembered.
    expect(await recalled(['q'], ask, async () => undefined)).to.deep.equal({ n: 4 });
    expect(await recalled(['q'], ask, async () => undefined)).to.deep.equal({ n: 5 });
  });

  it('a failed question is not remembered', async () => {
    let asked = 0;
    const key = async () => 's';
    const failing = async (): Promise<number> => {
      asked += 1;
      throw new Error('apt does not know it');
    };
    for (let i = 0; i < 2; i++) await recalled(['q'], failing, key).then(() => expect.fail('resolved'), (e: Error) => expect(e.message).to.equal('apt does not know it'));
    expect(asked).to.equal(2);
    expect(await recalled(['q'], async () => 7, key)).to.equal(7);
  });

  it('this host\'s apt state reads (apt-config) and is the same twice', async () => {
    const a = await aptStateKey();
    expect(a).to.match(/^[0-9a-f]{16}$/);
    expect(await aptStateKey()).to.equal(a);
  });
});
