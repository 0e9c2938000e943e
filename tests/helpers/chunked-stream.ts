// A byte array served as a ReadableStream of fixed-size pieces, as a binding (ASSETS, R2) delivers
// a file: for the pack tests that check a shard is streamed, not read whole.

/**
 * `bytes` as a stream of `chunk`-byte pieces (the last one shorter), each a copy.
 * @example const body = chunkedStream(new Uint8Array(10), 4); // pieces of 4, 4, 2 bytes
 */
export function chunkedStream(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at >= bytes.byteLength) return ctl.close();
      ctl.enqueue(bytes.slice(at, (at += chunk)));
    },
  });
}
