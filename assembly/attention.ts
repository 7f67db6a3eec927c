/**
 * Attention of one position and one kv head with its group of query heads, in f32 SIMD: the fast
 * path's counterpart of src/model/attention.ts attendGroup (float64 scalar: --safe-mode, and a run
 * state in SharedArrayBuffers).
 * The result depends only on the arguments (a fixed order of operations), so any thread computing a
 * (position, kv head) gives the same bits, and a batch position the same bits as that position alone.
 */

/** log2(e), and ln 2 split in a high part exact in f32 products with small integers and the rest (Cephes). */
const LOG2E: f32 = 1.44269504088896341
const LN2_HI: f32 = 0.693359375
const LN2_LO: f32 = -2.12194440e-4
/** Below this e^x is under f32's smallest normal: it is taken as e^EXP_MIN (1.2e-38), nothing next to the max's 1. */
const EXP_MIN: f32 = -87.33654

/**
 * e^x for x <= 0 lane by lane: x = n ln2 + r (|r| <= ln2 / 2), e^r by its Taylor series to r^6
 * (the first term left out, r^7 / 7!, is under 1.3e-7 of the result), times 2^n built in the
 * exponent bits. test/unit/attention-wasm.test.ts holds whole attentions within 2e-6 of float64.
 */
@inline function expNeg(x: v128): v128 {
  const xc = f32x4.max(x, f32x4.splat(EXP_MIN))
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)))
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)))
  let p = f32x4.add(f32x4.mul(r, f32x4.splat(1.0 / 720)), f32x4.splat(1.0 / 120))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1))
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23) // n in [-126, 0]
  return f32x4.mul(p, pow2n)
}

/** [sum of a0's lanes, a1's, a2's, a3's], each as (l0 + l2) + (l1 + l3). */
@inline function hsum4f(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = f32x4.add(i32x4.shuffle(a0, a1, 0, 1, 4, 5), i32x4.shuffle(a0, a1, 2, 3, 6, 7))
  const t1 = f32x4.add(i32x4.shuffle(a2, a3, 0, 1, 4, 5), i32x4.shuffle(a2, a3, 2, 3, 6, 7))
  return f32x4.add(i32x4.shuffle(t0, t1, 0, 2, 4, 6), i32x4.shuffle(t0, t1, 1, 3, 5, 7))
}

/** q . k over d floats (d % 4 == 0 in the vector part, the rest scalar), four keys at k0..k3 at once. */
@inline function dot4Keys(q: usize, k0: usize, ks: usize, d: usize, s: f32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0)
  const body = d & ~(<usize>3)
  for (let i: usize = 0; i < body; i += 4) {
    const x = v128.load(q + (i << 2))
    const o = k0 + (i << 2)
    a0 = f32x4.add(a0, f32x4.mul(x, v128.load(o)))
    a1 = f32x4.add(a1, f32x4.mul(x, v128.load(o + ks)))
    a2 = f32x4.add(a2, f32x4.mul(x, v128.load(o + 2 * ks)))
    a3 = f32x4.add(a3, f32x4.mul(x, v128.load(o + 3 * ks)))
  }
  let sum = hsum4f(a0, a1, a2, a3)
  for (let i = body; i < d; i++) {
    const x = load<f32>(q + (i << 2))
    const o = k0 + (i << 2)
    sum = f32x4.add(sum, f32x4(x * load<f32>(o), x * load<f32>(o + ks), x * load<f32>(o + 2 * ks), x * load<f32>(o + 3 * ks)))
  }
  return f32x4.mul(sum, f32x4.splat(s))
}

/** q . k over d floats for one key (the same order of operations as one lane of dot4Keys). */
@inline function dot1Key(q: usize, k: usize, d: usize): f32 {
  let a = f32x4.splat(0)
  const body = d & ~(<usize>3)
  for (let i: usize = 0; i < body; i += 4) a = f32x4.add(a, f32x4.mul(v128.load(q + (i << 2)), v128.load(k + (i << 2))))
  let sum = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 2)) + (f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 3))
  for (let i = body; i < d; i++) sum += load<f32>(q + (i << 2)) * load<f32>(k + (i << 2))
  return sum
}

/**
 * Four query heads (q, q + d floats, ...) over the same keys and values: each key and value row is
 * read once for the four. Scores go to att interleaved (att[4 t + h]), so the softmax runs on the
 * four heads lane by lane.
 */
@inline function attendFour(q: usize, keys: usize, ks: usize, values: usize, vs: usize, out: usize, att: usize,
  n: usize, d: usize, dv: usize, scale: f32): void {
  const body = d & ~(<usize>3)
  const dq = d << 2
  for (let t: usize = 0; t < n; t++) {
    const kt = keys + t * ks
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0)
    for (let i: usize = 0; i < body; i += 4) {
      const kv = v128.load(kt + (i << 2))
      const qi = q + (i << 2)
      a0 = f32x4.add(a0, f32x4.mul(v128.load(qi), kv))
      a1 = f32x4.add(a1, f32x4.mul(v128.load(qi + dq), kv))
      a2 = f32x4.add(a2, f32x4.mul(v128.load(qi + 2 * dq), kv))
      a3 = f32x4.add(a3, f32x4.mul(v128.load(qi + 3 * dq), kv))
    }
    let sc = hsum4f(a0, a1, a2, a3)
    for (let i = body; i < d; i++) {
      const kv = f32x4.splat(load<f32>(kt + (i << 2)))
      const qi = q + (i << 2)
      sc = f32x4.add(sc, f32x4.mul(f32x4(load<f32>(qi), load<f32>(qi + dq), load<f32>(qi + 2 * dq), load<f32>(qi + 3 * dq)), kv))
    }
    v128.store(att + (t << 4), f32x4.mul(sc, f32x4.splat(scale)))
  }
  let m = v128.load(att)
  for (let t: usize = 1; t < n; t++) m = f32x4.max(m, v128.load(att + (t << 4)))
  let sum = f32x4.splat(0)
  for (let t: usize = 0; t < n; t++) {
    const e = expNeg(f32x4.sub(v128.load(att + (t << 4)), m))
    v128.store(att + (t << 4), e)
    sum = f32x4.add(sum, e)
  }
  const inv = f32x4.div(f32x4.splat(1), sum)
  const i0 = i32x4.shuffle(inv, inv, 0, 0, 0, 0), i1 = i32x4.shuffle(inv, inv, 1, 1, 1, 1)
  const i2 = i32x4.shuffle(inv, inv, 2, 2, 2, 2), i3 = i32x4.shuffle(inv, inv, 3, 3, 3, 3)
  const dvq = dv << 2
  let c: usize = 0
  for (; c + 8 <= dv; c += 8) { // eight columns of the four heads in registers over all slots
    let b00 = f32x4.splat(0), b01 = f32x4.splat(0), b10 = f32x4.splat(0), b11 = f32x4.splat(0)
    let b20 = f32x4.splat(0), b21 = f32x4.splat(0), b30 = f32x4.splat(0), b31 = f32x4.splat(0)
    let vp = values + (c << 2)
    for (let t: usize = 0; t < n; t++) {
      const w = v128.load(att + (t << 4))
      const v0 = v128.load(vp), v1 = v128.load(vp, 16)
      const w0 = i32x4.shuffle(w, w, 0, 0, 0, 0), w1 = i32x4.shuffle(w, w, 1, 1, 1, 1)
      b00 = f32x4.add(b00, f32x4.mul(w0, v0)); b01 = f32x4.add(b01, f32x4.mul(w0, v1))
      b10 = f32x4.add(b10, f32x4.mul(w1, v0)); b11 = f32x4.add(b11, f32x4.mul(w1, v1))
      const w2 = i32x4.shuffle(w, w, 2, 2, 2, 2), w3 = i32x4.shuffle(w, w, 3, 3, 3, 3)
      b20 = f32x4.add(b20, f32x4.mul(w2, v0)); b21 = f32x4.add(b21, f32x4.mul(w2, v1))
      b30 = f32x4.add(b30, f32x4.mul(w3, v0)); b31 = f32x4.add(b31, f32x4.mul(w3, v1))
      vp += vs
    }
    const o = out + (c << 2)
    v128.store(o, f32x4.mul(b00, i0)); v128.store(o, f32x4.mul(b01, i0), 16)
    v128.store(o + dvq, f32x4.mul(b10, i1)); v128.store(o + dvq, f32x4.mul(b11, i1), 16)
    v128.store(o + 2 * dvq, f32x4.mul(b20, i2)); v128.store(o + 2 * dvq, f32x4.mul(b21, i2), 16)
    v128.store(o + 3 * dvq, f32x4.mul(b30, i3)); v128.store(o + 3 * dvq, f32x4.mul(b31, i3), 16)
  }
  for (; c < dv; c++) { // the last columns, the four heads in the lanes
    let b = f32x4.splat(0)
    let vp = values + (c << 2)
    for (let t: usize = 0; t < n; t++) {
      b = f32x4.add(b, f32x4.mul(v128.load(att + (t << 4)), f32x4.splat(load<f32>(vp))))
      vp += vs
    }
    b = f32x4.mul(b, inv)
    const o = out + (c << 2)
    store<f32>(o, f32x4.extract_lane(b, 0))
    store<f32>(o + dvq, f32x4.extract_lane(b, 1))
    store<f32>(o + 2 * dvq, f32x4.extract_lane(b, 2))
    store<f32>(o + 3 * dvq, f32x4.extract_lane(b, 3))
  }
}

/** One query head at qh over the keys and values, its result to oh (scores: att[t]). */
@inline function attendOne(qh: usize, keys: usize, ks: usize, values: usize, vs: usize, oh: usize, att: usize,
  n: usize, d: usize, dv: usize, scale: f32): void {
  // Scores, four keys a pass (each q load serves four keys; four independent sums).
  let t: usize = 0
  for (; t + 4 <= n; t += 4) v128.store(att + (t << 2), dot4Keys(qh, keys + t * ks, ks, d, scale))
  for (; t < n; t++) store<f32>(att + (t << 2), dot1Key(qh, keys + t * ks, d) * scale)
  // Softmax numerators e^(s - max), and their sum (four lanes, then (l0 + l2) + (l1 + l3), then the tail).
  let mx = load<f32>(att)
  for (t = 1; t < n; t++) mx = max(mx, load<f32>(att + (t << 2)))
  const m = f32x4.splat(mx)
  let sv = f32x4.splat(0)
  for (t = 0; t + 4 <= n; t += 4) {
    const e = expNeg(f32x4.sub(v128.load(att + (t << 2)), m))
    v128.store(att + (t << 2), e)
    sv = f32x4.add(sv, e)
  }
  let sum = (f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 2)) + (f32x4.extract_lane(sv, 1) + f32x4.extract_lane(sv, 3))
  for (; t < n; t++) {
    const e = f32x4.extract_lane(expNeg(f32x4.splat(load<f32>(att + (t << 2)) - mx)), 0)
    store<f32>(att + (t << 2), e)
    sum += e
  }
  const inv = f32x4.splat(<f32>1 / sum)
  // Weighted values, 16 columns at a time held in registers over all slots, then 4, then 1.
  let c: usize = 0
  for (; c + 16 <= dv; c += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0)
    let vp = values + (c << 2)
    for (t = 0; t < n; t++) {
      const w = v128.load32_splat(att + (t << 2))
      a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vp)))
      a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vp, 16)))
      a2 = f32x4.add(a2, f32x4.mul(w, v128.load(vp, 32)))
      a3 = f32x4.add(a3, f32x4.mul(w, v128.load(vp, 48)))
      vp += vs
    }
    const o = oh + (c << 2)
    v128.store(o, f32x4.mul(a0, inv))
    v128.store(o, f32x4.mul(a1, inv), 16)
    v128.store(o, f32x4.mul(a2, inv), 32)
    v128.store(o, f32x4.mul(a3, inv), 48)
  }
  for (; c + 4 <= dv; c += 4) {
    let a = f32x4.splat(0)
    let vp = values + (c << 2)
    for (t = 0; t < n; t++) {
      a = f32x4.add(a, f32x4.mul(v128.load32_splat(att + (t << 2)), v128.load(vp)))
      vp += vs
    }
    v128.store(oh + (c << 2), f32x4.mul(a, inv))
  }
  for (; c < dv; c++) {
    let a: f32 = 0
    let vp = values + (c << 2)
    for (t = 0; t < n; t++) {
      a += load<f32>(att + (t << 2)) * load<f32>(vp)
      vp += vs
    }
    store<f32>(oh + (c << 2), a * f32x4.extract_lane(inv, 0))
  }
}

/**
 * For each of `group` query heads (headDim floats each, consecutive from q) attending to cache
 * slots 0..len-1 (key t at keys + t * ks bytes, value t at values + t * vs; headDim / headDimV
 * floats): softmax(q . k_t * scale) weighted sum of the values, written to out (headDimV floats a
 * head, consecutive). Heads go four at a time (attendFour), the rest one by one. att: scratch for
 * 4 * len f32 scores.
 */
export function attend_group(q: usize, keys: usize, ks: usize, values: usize, vs: usize, out: usize, att: usize,
  len: i32, headDim: i32, headDimV: i32, group: i32, scale: f32): void {
  const n = <usize>len, d = <usize>headDim, dv = <usize>headDimV, g = <usize>group
  let h: usize = 0
  for (; h + 4 <= g; h += 4) attendFour(q + h * (d << 2), keys, ks, values, vs, out + h * (dv << 2), att, n, d, dv, scale)
  for (; h < g; h++) attendOne(q + h * (d << 2), keys, ks, values, vs, out + h * (dv << 2), att, n, d, dv, scale)
}
