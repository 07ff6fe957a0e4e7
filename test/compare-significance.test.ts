// Tests of the rank statistics compare judges timing with
// (src/compare/significance.ts). Reference values from SciPy 1.17
// (scipy.stats.mannwhitneyu, method='auto') and R's wilcox.test(conf.int=TRUE).

import { expect } from 'chai';
import { hodgesLehmann, normalUpperTail, shiftTest, uDistribution } from '../src/compare/significance.ts';

describe('compare significance: Mann-Whitney U and Hodges-Lehmann', () => {
  it('counts the null distribution of U exactly (Gaussian binomial coefficients)', () => {
    expect(uDistribution(3, 4).map(Number)).to.deep.equal([1, 1, 2, 3, 4, 4, 5, 4, 4, 3, 2, 1, 1]);
    // The counts add up to C(n+m, n), and are symmetric.
    const d = uDistribution(10, 12);
    expect(d.reduce((s, x) => s + x, 0n)).to.equal(646646n);
    expect(d).to.deep.equal([...d].reverse());
  });

  it('exact p-values equal SciPy\'s', () => {
    const separated = shiftTest([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])!;
    expect(separated).to.include({ method: 'exact', u: 25, shift: 5, ciLow: 2, ciHigh: 8, pLess: 1 });
    expect(separated.pGreater).to.be.closeTo(0.003968253968253968, 1e-15);
    const mixed = shiftTest([1, 2, 3, 4], [1.5, 2.5, 3.5, 4.5, 5.5])!;
    expect(mixed).to.include({ method: 'exact', u: 14, shift: 1, ciLow: -1.5, ciHigh: 3.5 });
    expect(mixed.pGreater).to.be.closeTo(0.20634920634920634, 1e-12);
    expect(mixed.pLess).to.be.closeTo(0.8571428571428572, 1e-12);
  });

  it('with ties: the normal approximation with tie and continuity correction, as SciPy', () => {
    const t = shiftTest([1, 2, 2, 3, 4, 5, 5, 6], [3, 4, 4, 5, 6, 7, 7, 8])!;
    expect(t).to.include({ method: 'normal', u: 50, shift: 2 });
    expect(t.pGreater).to.be.closeTo(0.031847988448895415, 1e-6);
    expect(t.pLess).to.be.closeTo(0.9750174144874231, 1e-6);
  });

  it('the issue\'s samples [1.647, 0.487, 0.474, 0.467, 0.476] against a normal run: one slow echo moves nothing', () => {
    const normal = [0.49, 0.47, 0.48, 0.46, 0.47, 0.471, 0.482, 0.465, 0.478, 0.469];
    const issue = [1.647, 0.487, 0.474, 0.467, 0.476];
    const t = shiftTest(normal, issue)!;
    // SciPy: U = 33, p(greater) = 0.1789, p(less) = 0.8513.
    expect(t.u).to.equal(33);
    expect(t.pGreater).to.be.closeTo(0.1789484507092749, 1e-6);
    expect(t.pLess).to.be.closeTo(0.8512857875467342, 1e-6);
    // A shift of 6 µs: far from any effect worth a verdict.
    expect(t.shift).to.be.closeTo(0.006, 1e-9);
    // Against itself without the warm-up echo: no shift at all.
    expect(hodgesLehmann(issue.slice(1), issue.slice(1))).to.equal(0);
  });

  it('a 2 ms slowdown of every echo is a shift of 2 ms with a tight interval and a tiny p', () => {
    const a = Array.from({ length: 19 }, (_, i) => 0.46 + ((i * 7) % 19) / 1000);
    const b = a.map((v) => v + 2);
    const t = shiftTest(a, b)!;
    expect(t.method).to.equal('exact');
    expect(t.shift).to.be.closeTo(2, 1e-9);
    expect(t.ciLow).to.be.above(1.98);
    expect(t.ciHigh).to.be.below(2.02);
    // Complete separation: p = 1 / C(38, 19).
    expect(t.pGreater).to.be.closeTo(1 / 35345263800, 1e-15);
  });

  it('too few samples for an interval: no CI; an empty side: no test', () => {
    expect(shiftTest([1, 2, 3], [4, 5, 6])).to.not.have.any.keys('ciLow', 'ciHigh');
    expect(shiftTest([], [1, 2])).to.equal(undefined);
    expect(shiftTest([1, Number.NaN], [Number.POSITIVE_INFINITY])).to.equal(undefined);
    expect(hodgesLehmann([], [1])).to.equal(undefined);
  });

  it('the normal tail matches the standard values', () => {
    expect(normalUpperTail(0)).to.be.closeTo(0.5, 1e-7);
    expect(normalUpperTail(1.959963984540054)).to.be.closeTo(0.025, 1e-7);
    expect(normalUpperTail(-1.6448536269514722)).to.be.closeTo(0.95, 1e-7);
    expect(normalUpperTail(6)).to.be.closeTo(9.865876450377e-10, 1e-15);
  });
});
