// The bisection itself, as a pure function: commits in, an async oracle that
// judges one commit, the first bad commit (or the honest range) out. It knows
// nothing of boards, runs or git; `vnet-harness bisect` gives it an oracle
// that runs the driver at a commit, and the tests give it made-up ones.
//
// Like `git bisect`: both ends are verified first, then the commits between
// them are halved until one bad commit has a good one right before it. An
// oracle answer of `error` (the harness could not do its job) is asked once
// more; a second `error`, or a `skip` (the commit cannot show the watched
// behaviour), leaves the commit untested like `git bisect skip`, and when
// such commits lie next to the boundary the answer is the range they span.

/** What the oracle says of one commit. */
export type Outcome = 'good' | 'bad' | 'skip' | 'error';

/** An oracle's answer: its outcome, and whatever the caller wants kept with it (the run). */
export interface Answer {
  outcome: Outcome;
}

/** Why the search asked about a commit. */
export type StepRole = 'good-end' | 'bad-end' | 'step';

/** One oracle call, in the order they were made. */
export interface SearchStep<A extends Answer> {
  commit: string;
  role: StepRole;
  /** 1, or 2 for the retry after an `error`. */
  attempt: number;
  answer: A;
}

export interface SearchInput<A extends Answer> {
  /** The known-good end (not in `commits`). */
  good: string;
  /** The known-bad end. */
  bad: string;
  /**
   * The commits after `good`, oldest first. The last one is `bad` itself, or a
   * commit the caller knows to be equivalent to it (the same driver tree): it
   * is taken as bad once `bad` is verified, without asking again.
   */
  commits: readonly string[];
  /** Judges a commit; attempt 2 is the retry of an `error`. */
  oracle: (commit: string, role: StepRole, attempt: number) => Promise<A>;
}

/** Both ends answered as expected, and the boundary was found. */
interface Found {
  kind: 'found';
  /** The first bad commit. */
  firstBad: string;
  /** The commit right before it (or the good end): good. */
  lastGood: string;
}

/** Untestable commits lie between the last good and the first known-bad commit. */
interface Range {
  kind: 'range';
  /** The earliest commit known to be bad. */
  firstBad: string;
  lastGood: string;
  /** Every commit that may be the first bad one, oldest first: the untestable ones, then `firstBad`. */
  candidates: string[];
  /** The untestable commits among the candidates. */
  untestable: string[];
}

/** An end is not what the user said: `--good` answered bad (or untestable), or `--bad` good (or untestable). */
interface EndMismatch {
  kind: 'end-mismatch';
  end: 'good' | 'bad';
  /** What the end answered instead (`error`: twice, the harness could not test it). */
  outcome: Outcome;
}

export type SearchResult<A extends Answer> = (Found | Range | EndMismatch) & {
  steps: SearchStep<A>[];
  /** Commits left untested (skip, or error twice), wherever they lie. */
  skipped: string[];
};

/** The most oracle calls a search over n commits needs when nothing is skipped: both ends, then ⌈log2 n⌉. */
export function maxCalls(n: number): number {
  return 2 + (n <= 1 ? 0 : Math.ceil(Math.log2(n)));
}

/** Runs the bisection: verifies both ends, then halves the commits between them. */
export async function bisectCommits<A extends Answer>(input: SearchInput<A>): Promise<SearchResult<A>> {
  const { commits } = input;
  const steps: SearchStep<A>[] = [];
  const skipped: string[] = [];

  // One question about a commit, asked again once when the harness failed.
  const ask = async (commit: string, role: StepRole): Promise<Outcome> => {
    for (let attempt = 1; ; attempt++) {
      const answer = await input.oracle(commit, role, attempt);
      steps.push({ commit, role, attempt, answer });
      if (answer.outcome !== 'error' || attempt === 2) return answer.outcome;
    }
  };

  const goodEnd = await ask(input.good, 'good-end');
  if (goodEnd !== 'good') return { kind: 'end-mismatch', end: 'good', outcome: goodEnd, steps, skipped };
  const badEnd = await ask(input.bad, 'bad-end');
  if (badEnd !== 'bad') return { kind: 'end-mismatch', end: 'bad', outcome: badEnd, steps, skipped };
  if (commits.length === 0) throw new RangeError('bisect: no commits between the two ends');

  // lo: index of the last known-good commit (-1: the good end); hi: the first known-bad one.
  let lo = -1;
  let hi = commits.length - 1;
  const untestable = new Set<number>();
  for (;;) {
    const next = pick(lo, hi, untestable);
    if (next === undefined) break;
    const commit = commits[next] as string;
    const outcome = await ask(commit, 'step');
    if (outcome === 'good') lo = next;
    else if (outcome === 'bad') hi = next;
    else {
      untestable.add(next);
      skipped.push(commit);
    }
  }
  const lastGood = lo === -1 ? input.good : (commits[lo] as string);
  const firstBad = commits[hi] as string;
  const between = commits.slice(lo + 1, hi);
  if (between.length === 0) return { kind: 'found', firstBad, lastGood, steps, skipped };
  return { kind: 'range', firstBad, lastGood, candidates: [...between, firstBad], untestable: between, steps, skipped };
}

// The untested index between lo and hi nearest to their middle (the lower one
// on a tie), or none when every one between them is untestable. Halving the
// span at its middle needs ⌈log2(hi - lo)⌉ questions; an untestable commit
// moves the question to its nearest neighbour, as `git bisect skip` does.
function pick(lo: number, hi: number, untestable: ReadonlySet<number>): number | undefined {
  const mid = Math.floor((lo + hi) / 2);
  for (let d = 0; mid - d > lo || mid + d < hi; d++) {
    for (const i of [mid - d, mid + d]) if (i > lo && i < hi && !untestable.has(i)) return i;
  }
  return undefined;
}
