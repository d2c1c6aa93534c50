/**
 * Small order statistics for the benchmarks: the median of repeated runs, and latency
 * percentiles. Pure functions, no I/O.
 */

/** The median; NaN for no values (a lane that produced no runs must not read as 0/s). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/**
 * The q-th quantile (0 < q <= 1) of values sorted ascending, by nearest rank: always one of the
 * observed values, so a p99.9 of 1,000 samples is the slowest one rather than an interpolation
 * that no message ever saw. NaN for no values.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`a quantile is in (0, 1], got ${q}`);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** A sorted copy: typed arrays sort numerically, not as strings. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}
