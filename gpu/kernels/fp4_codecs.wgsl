// spec §14.1 element codecs shared by the two 4-bit weight decoders (exact in f32):
//   E2M1 code c (bit 3 = sign): |c & 7| → 0, 0.5, 1, 1.5, 2, 3, 4, 6
//   E4M3 byte b: e = (b >> 3) & 15, m = b & 7; e > 0: 2^(e−7)·(1 + m/8), e = 0: 2^−6·m/8; bit 7 = sign
// byte_of(word, k) extracts byte k mod 4 of a little-endian word.

fn byte_of(word: u32, k: u32) -> u32 {
  return (word >> ((k & 3u) * 8u)) & 0xffu;
}

fn e2m1(code: u32) -> f32 {
  let c = code & 7u;
  let mag = select(select(f32(c) - 2.0, 6.0, c == 7u), f32(c) * 0.5, c < 4u);
  return select(mag, -mag, (code & 8u) != 0u);
}

fn e4m3(b: u32) -> f32 {
  let e = (b >> 3u) & 15u;
  let m = f32(b & 7u);
  let v = select((1.0 + m / 8.0) * exp2(f32(e) - 7.0), m / 8.0 * exp2(-6.0), e == 0u);
  return select(v, -v, (b & 0x80u) != 0u);
}
