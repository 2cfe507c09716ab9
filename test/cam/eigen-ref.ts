// Host float64 reference for Eigen-CAM / Eigen-Grad-CAM, written from pytorch-grad-cam's
// get_2d_projection (utils/svd_on_activations.py at 084273b3: reshape to (h·w, C), subtract the
// column means, project on the first row of Vᵀ from np.linalg.svd) with a full eigen-decomposition
// (cyclic Jacobi on MᵀM) instead of camlight's power iteration, and the sign rule camlight
// documents (the oracle's eigencam-*-signfix variants: correlate with the channel sum).

/** Eigenvector of the largest eigenvalue of a symmetric d×d matrix (row-major), by cyclic Jacobi rotations. */
export function leadingEigenvector(S: Float64Array, d: number): Float64Array {
  const a = Float64Array.from(S);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!, akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!, aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p]!, vkq = V[k * d + q]!;
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < d; i++) if (a[i * d + i]! > a[best * d + best]!) best = i;
  return Float64Array.from({ length: d }, (_, k) => V[k * d + best]!);
}

/**
 * ReLU(±(M − mean_p M)·v₁) / max for one (P, C) matrix M (row-major, float32 values), v₁ the first
 * right singular vector; uncentred when `centred` is false; the sign makes Σ_p map_p·Σ_c M_pc ≥ 0.
 */
export function eigenProjection(M: ArrayLike<number>, P: number, C: number, centred: boolean): number[] {
  const X = Float64Array.from(M);
  if (centred) {
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (let p = 0; p < P; p++) m += X[p * C + c]!;
      m /= P;
      for (let p = 0; p < P; p++) X[p * C + c]! -= m;
    }
  }
  const S = new Float64Array(C * C);
  for (let p = 0; p < P; p++) for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) S[i * C + j]! += X[p * C + i]! * X[p * C + j]!;
  const v = leadingEigenvector(S, C);
  const proj = Array.from({ length: P }, (_, p) => { let s = 0; for (let c = 0; c < C; c++) s += X[p * C + c]! * v[c]!; return s; });
  let corr = 0;
  for (let p = 0; p < P; p++) { let s = 0; for (let c = 0; c < C; c++) s += M[p * C + c]!; corr += proj[p]! * s; }
  const r = proj.map((x) => Math.max(corr < 0 ? -x : x, 0));
  const peak = Math.max(...r);
  return peak > 0 ? r.map((x) => x / peak) : r;
}
