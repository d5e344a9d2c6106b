/** winston's default levels, for entries rendered without a logger: a lower number is more severe. */
export const NPM_LEVELS: Readonly<Record<string, number>> = Object.freeze({
  error: 0,
  warn: 1,
  info: 2,
  http: 3,
  verbose: 4,
  debug: 5,
  silly: 6,
});

/** The rank of a level in `levels`, lower is more severe; levels the logger does not know rank last. */
export function rankLevel(level: string, levels: Readonly<Record<string, number>> = NPM_LEVELS): number {
  const rank = Object.hasOwn(levels, level) ? levels[level] : undefined;
  return typeof rank === 'number' && !Number.isNaN(rank) ? rank : Number.POSITIVE_INFINITY;
}

/**
 * Keeps the most severe of the levels it is shown, the first one on a tie: the subject names the
 * first most severe entry of a batch.
 */
export class MostSevere<T> {
  #best: T | undefined;
  #bestRank = Number.POSITIVE_INFINITY;

  constructor(private readonly levels: Readonly<Record<string, number>> = NPM_LEVELS) {}

  /** Considers `item`, logged at `level`. */
  offer(item: T, level: string): void {
    const rank = rankLevel(level, this.levels);
    if (this.#best === undefined || rank < this.#bestRank) {
      this.#best = item;
      this.#bestRank = rank;
    }
  }

  /** The most severe item so far; undefined when none was offered. */
  get best(): T | undefined {
    return this.#best;
  }
}

/** Orders level names most severe first; unknown levels keep their order, after the known ones. */
export function sortBySeverity(
  names: readonly string[],
  levels: Readonly<Record<string, number>> = NPM_LEVELS,
): string[] {
  return names
    .map((name, index) => ({ name, index, rank: rankLevel(name, levels) }))
    .sort((a, b) => (a.rank === b.rank ? a.index - b.index : a.rank < b.rank ? -1 : 1))
    .map(({ name }) => name);
}
