// The emulated kernel's configuration check: the lines of the board's config
// fragments that kconfig did not keep are an error before the long build.
// With several fragments (a debug variant on top of the base board), the
// last line for an option is the one that must hold.
import { expect } from 'chai';
import { lostOptions } from '../src/emulated/kernel.ts';

describe('kernel config fragments (lostOptions)', () => {
  const config = ['CONFIG_KASAN=y', 'CONFIG_HZ=100', '# CONFIG_IPV6 is not set', 'CONFIG_DEBUG_FS=y'].join('\n');

  it('finds nothing lost when every line holds', () => {
    expect(lostOptions('CONFIG_KASAN=y\n# CONFIG_IPV6 is not set\n# a comment\n', config)).to.deep.equal([]);
  });

  it('names a set option kconfig dropped, and a disabled one it turned on', () => {
    expect(lostOptions('CONFIG_UBSAN=y\n# CONFIG_DEBUG_FS is not set\n', config)).to.deep.equal(['CONFIG_UBSAN=y', '# CONFIG_DEBUG_FS is not set']);
  });

  it('judges an option set twice by its last line (a later fragment wins)', () => {
    const base = '# CONFIG_KASAN is not set\nCONFIG_IPV6=y\n';
    const debug = 'CONFIG_KASAN=y\n# CONFIG_IPV6 is not set\n';
    expect(lostOptions(`${base}\n${debug}`, config)).to.deep.equal([]);
    expect(lostOptions(`${debug}\n${base}`, config)).to.deep.equal(['# CONFIG_KASAN is not set', 'CONFIG_IPV6=y']);
  });
});
