// docs/metric-learning.md: k-nearest-neighbour classification under a learned metric. The k
// smallest squared distances vote (equal distances: the lower row index is nearer); a tie in votes
// goes to the label of the nearest neighbour among the tied labels.

/**
 * Indices of the k smallest entries of `dist` (m), nearest first, skipping index `skip`
 * (−1: none). Equal distances keep index order. O(m·k) insertion; k is small.
 * @example
 * nearest(Float64Array.of(3, 1, 2), 2); // [1, 2]
 */
export function nearest(dist: Float64Array, k: number, skip = -1, out = new Int32Array(k)): Int32Array {
  let size = 0;
  for (let j = 0; j < dist.length; j++) {
    if (j === skip) continue;
    const v = dist[j];
    if (size === k && v >= dist[out[k - 1]]) continue;
    let p = size < k ? size++ : k - 1;
    while (p > 0 && dist[out[p - 1]] > v) {
      out[p] = out[p - 1];
      p--;
    }
    out[p] = j;
  }
  return size < k ? out.subarray(0, size) : out;
}

/**
 * The majority label of `neighbours` (nearest first); a tie goes to the nearest neighbour's
 * label among the tied labels.
 * @example
 * vote(Int32Array.of(4, 7, 9), Int32Array.from({ length: 10 }, (_, i) => i % 2)); // labels 0,1,1 → 1
 */
export function vote(neighbours: Int32Array, labels: Int32Array): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (const j of neighbours) {
    const c = (counts.get(labels[j]) ?? 0) + 1;
    counts.set(labels[j], c);
    if (c > best) best = c;
  }
  for (const j of neighbours) if (counts.get(labels[j]) === best) return labels[j];
  return -1; // no neighbours
}

/**
 * Squared Euclidean distances from row `i` of A (·, r) to every row of B (m, r), into `out` (m).
 * @example
 * rowDistances(queries, 0, train, nTrain, r, dist);
 */
export function rowDistances(a: Float64Array, i: number, b: Float64Array, m: number, r: number, out = new Float64Array(m)): Float64Array {
  for (let j = 0; j < m; j++) {
    let s = 0;
    for (let c = 0; c < r; c++) {
      const e = a[i * r + c] - b[j * r + c];
      s += e * e;
    }
    out[j] = s;
  }
  return out;
}

/**
 * Predicted labels of the query rows Q (nq, r) by k-NN over the train rows T (nt, r).
 * @example
 * const predicted = knnPredict(trainZ, train.y, testZ, test.n, r, 3);
 */
export function knnPredict(train: Float64Array, trainY: Int32Array, query: Float64Array, nQuery: number, r: number, k: number): Int32Array {
  const dist = new Float64Array(trainY.length);
  const order = new Int32Array(k);
  const out = new Int32Array(nQuery);
  for (let i = 0; i < nQuery; i++) {
    rowDistances(query, i, train, trainY.length, r, dist);
    out[i] = vote(nearest(dist, k, -1, order), trainY);
  }
  return out;
}

/**
 * Fraction of rows whose predicted label differs from the true one.
 * @example
 * errorRate(Int32Array.of(0, 1), Int32Array.of(0, 0)); // 0.5
 */
export function errorRate(predicted: Int32Array, truth: Int32Array): number {
  let wrong = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] !== truth[i]) wrong++;
  return wrong / truth.length;
}
