// WGSL generators for matrix products: a "rows" kernel for tall problems and a "cols" kernel
// for skinny ones (matrix-vector, dense layers at small batch) with optional split-K.
import type { ProgramSource } from '../gpu/pipelines.ts';
import { activationWgsl, defineProgram, storageDecls, uniformDecl, type Activation } from './program.ts';

/**
 * How operands sit in memory, decided per call from shapes and transposes; each choice changes
 * the shader text and so is part of the key.
 * - aVec: A is (M,K) row-major with K % 4 == 0, so 4 consecutive k of one row load as a vec4.
 * - bMode 'vec': B is (K,N) with N % 4 == 0 (4 columns per vec4); 'tvec': B is (N,K) with
 *   K % 4 == 0 (4 consecutive k of one column per vec4); 'scalar': anything else.
 * - yVec: N % 4 == 0, so the output and bias are written/read as vec4.
 */
export interface MatmulLayout {
  aVec: boolean;
  bMode: 'vec' | 'tvec' | 'scalar';
  yVec: boolean;
  hasBias: boolean;
  act: Activation;
}

/**
 * Register tile. rows kernel: each invocation owns `rm` rows (lanes differ in rows, so B is
 * indexed uniformly across lanes and loads as one broadcast) × `cn` columns shared by the
 * workgroup. cols kernel: each invocation owns `cn` columns, the workgroup shares `rm` rows
 * (A is the broadcast operand). `wgx` invocations per workgroup along x.
 */
export interface MatmulTile {
  wgx: number;
  rm: number;
  cn: number;
}

// Uniforms shared by both kernels. Strides are in elements; sa*/sb* describe the logical
// A(m,k) and B(k,n) whatever the storage order; ab/bb/yb are per-batch offsets.
export const MatmulU = uniformDecl({
  M: 'u32', N: 'u32', K: 'u32', ab: 'u32', bb: 'u32', yb: 'u32',
  sam: 'u32', sak: 'u32', sbk: 'u32', sbn: 'u32', splits: 'u32', kchunk: 'u32',
}, 'matmul');

const C = ['x', 'y', 'z', 'w'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function decls(l: MatmulLayout, out: 'Y4' | 'Y' | 'P'): string {
  const ins: [string, string][] = [
    ['A', l.aVec ? 'vec4<f32>' : 'f32'],
    ['B', l.bMode === 'scalar' ? 'f32' : 'vec4<f32>'],
  ];
  if (l.hasBias && out !== 'P') ins.push(['bias', l.yVec ? 'vec4<f32>' : 'f32']);
  const y = out === 'Y4' ? 'vec4<f32>' : 'f32';
  return MatmulU.wgsl + storageDecls(ins, [['Y', y]]) + activationWgsl(l.act);
}

/** Epilogue for one vec4 of outputs at (m, n..n+3): bias, activation, bounds-checked store. */
function store(l: MatmulLayout, acc: string, m: string, n: string, partial: boolean): string {
  if (partial) {
    // Split-K partial sums: raw, scalar, written at P[(split*B + batch)*M*N + m*N + n].
    return range(4).map((j) => `if (${m} < u.M && ${n} + ${j}u < u.N) { Y[pb + ${m} * u.N + ${n} + ${j}u] = ${acc}.${C[j]}; }`).join('\n    ');
  }
  if (l.yVec) {
    const b = l.hasBias ? ` + bias[(${n}) / 4u]` : '';
    return `if (${m} < u.M && ${n} < u.N) { Y[(u.yb * batch + ${m} * u.N + ${n}) / 4u] = act4(${acc}${b}); }`;
  }
  return range(4)
    .map((j) => {
      const b = l.hasBias ? ` + bias[${n} + ${j}u]` : '';
      return `if (${m} < u.M && ${n} + ${j}u < u.N) { Y[u.yb * batch + ${m} * u.N + ${n} + ${j}u] = act(${acc}.${C[j]}${b}); }`;
    })
    .join('\n    ');
}

/**
 * Loads for one step of 4 k values (k..k+3), or one k when `one`. `aRow(r)` / `bCol(c)` are the
 * clamped row / 4-column-group expressions; returns WGSL that leaves a{r}_{i} (scalar A) and
 * b{c}_{i} (vec4 of B along n) for i < steps.
 */
function loads(l: MatmulLayout, rm: number, cn4: number, one: boolean): string {
  const steps = one ? 1 : 4;
  const s: string[] = [];
  for (const r of range(rm)) {
    if (l.aVec && !one) s.push(`let av${r} = A[(aoff${r} + k) / 4u];`);
    for (const i of range(steps)) {
      s.push(l.aVec && !one ? `let a${r}_${i} = av${r}.${C[i]};` : l.aVec ? `let a${r}_${i} = AS(aoff${r} + k + ${i}u);` : `let a${r}_${i} = A[aoff${r} + (k + ${i}u) * u.sak];`);
    }
  }
  for (const c of range(cn4)) {
    if (l.bMode === 'vec') {
      for (const i of range(steps)) s.push(`let b${c}_${i} = B[(boff + (k + ${i}u) * u.N) / 4u + bcol${c}];`);
    } else if (l.bMode === 'tvec' && !one) {
      // B stored (N,K): one vec4 holds k..k+3 of a column; regroup 4 columns into vec4s along n.
      for (const j of range(4)) s.push(`let bt${c}_${j} = B[(boff + bn${c}_${j} * u.K + k) / 4u];`);
      for (const i of range(4)) s.push(`let b${c}_${i} = vec4<f32>(${range(4).map((j) => `bt${c}_${j}.${C[i]}`).join(', ')});`);
    } else {
      const ld = (e: string) => (l.bMode === 'scalar' ? `B[${e}]` : `BS(${e})`);
      for (const i of range(steps)) {
        s.push(`let b${c}_${i} = vec4<f32>(${range(4).map((j) => ld(`boff + (k + ${i}u) * u.sbk + bn${c}_${j} * u.sbn`)).join(', ')});`);
      }
    }
  }
  for (const i of range(steps)) for (const r of range(rm)) for (const c of range(cn4)) s.push(`acc${r}_${c} += a${r}_${i} * b${c}_${i};`);
  return s.join('\n      ');
}

/** Scalar accessors over vec4-typed bindings (for the K tail and mixed layouts). */
function scalarAccess(l: MatmulLayout): string {
  let s = '';
  if (l.aVec) s += 'fn AS(i: u32) -> f32 { return A[i / 4u][i % 4u]; }\n';
  if (l.bMode !== 'scalar') s += 'fn BS(i: u32) -> f32 { return B[i / 4u][i % 4u]; }\n';
  return s;
}

/** Per-column setup: clamped vec4 column index (vec mode) or clamped column per lane of a group. */
function colSetup(l: MatmulLayout, cn4: number, n0: string): string {
  const s: string[] = [];
  for (const c of range(cn4)) {
    if (l.bMode === 'vec') s.push(`let bcol${c} = min(${n0} / 4u + ${c}u, u.N / 4u - 1u);`);
    else for (const j of range(4)) s.push(`let bn${c}_${j} = min(${n0} + ${4 * c + j}u, u.N - 1u);`);
  }
  return s.join('\n  ');
}

function body(l: MatmulLayout, rm: number, cn4: number, kStart: string, kEnd: string): string {
  const accs = range(rm).flatMap((r) => range(cn4).map((c) => `var acc${r}_${c} = vec4<f32>(0.0);`));
  return `${accs.join('\n  ')}
  let kEnd = ${kEnd};
  let k4End = ${kStart} + (kEnd - ${kStart}) / 4u * 4u;
  var k = ${kStart};
  for (; k < k4End; k += 4u) {
      ${loads(l, rm, cn4, false)}
  }
  for (; k < kEnd; k += 1u) {
      ${loads(l, rm, cn4, true)}
  }`;
}

/**
 * Rows kernel. a:(B,M,K) b:(B,K,N) y:(B,M,N) (logical; storage order via strides and layout).
 * Grid: x = ceil(M / (wgx·rm)), y = ceil(N / cn), z = batch. Lane rows m = base + r·wgx + lane.
 */
export function rowsProgram(layout: MatmulLayout, tile: MatmulTile): ProgramSource {
  const spec = { l: { ...layout } as Readonly<MatmulLayout>, t: { ...tile } as Readonly<MatmulTile> };
  return defineProgram('matmul.rows', spec, ({ l, t }) => {
    const cn4 = t.cn / 4;
    return {
      inputs: l.hasBias ? 3 : 2,
      outputs: 1,
      code: () => `
${decls(l, l.yVec ? 'Y4' : 'Y')}
${scalarAccess(l)}
// a:(B,M,K) b:(B,K,N) bias:(N) y:(B,M,N)
@compute @workgroup_size(${t.wgx})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wg.z;
  let mBase = wg.x * ${t.wgx * t.rm}u + lid.x;
  let n0 = wg.y * ${t.cn}u;
  let boff = u.bb * batch;
  ${range(t.rm).map((r) => `let m${r} = mBase + ${r * t.wgx}u;\n  let aoff${r} = u.ab * batch + min(m${r}, u.M - 1u) * u.sam;`).join('\n  ')}
  ${colSetup(l, cn4, 'n0')}
  ${body(l, t.rm, cn4, '0u', 'u.K')}
  ${range(t.rm).flatMap((r) => range(cn4).map((c) => store(l, `acc${r}_${c}`, `m${r}`, `n0 + ${4 * c}u`, false))).join('\n  ')}
}`,
    };
  });
}

/**
 * Cols kernel. a:(B,M,K) b:(B,K,N) y:(B,M,N), or with splits > 1 partial sums
 * p:(S,B,M,N) reduced by reduceProgram. Grid: x = ceil(N / (wgx·cn)), y = ceil(M / rm),
 * z = batch·splits. Each workgroup shares rows (A loads broadcast); lanes own cn columns.
 */
export function colsProgram(layout: MatmulLayout, tile: MatmulTile, split: boolean): ProgramSource {
  // Split-K partials are raw sums: bias and activation wait for reduceProgram.
  const lp: Readonly<MatmulLayout> = split ? { ...layout, hasBias: false, act: 'linear' } : { ...layout };
  const spec = { lp, t: { ...tile } as Readonly<MatmulTile>, split };
  return defineProgram(split ? 'matmul.cols-split' : 'matmul.cols', spec, ({ lp, t, split }) => {
    const cn4 = t.cn / 4;
    return {
      inputs: lp.hasBias ? 3 : 2,
      outputs: 1,
      code: () => `
${decls(lp, split ? 'P' : lp.yVec ? 'Y4' : 'Y')}
${scalarAccess(lp)}
// a:(B,M,K) b:(B,K,N) bias:(N) y:(B,M,N) [split: p:(S,B,M,N)]
@compute @workgroup_size(${t.wgx})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let batch = wg.z / u.splits;
  let s = wg.z % u.splits;
  let n0 = (wg.x * ${t.wgx}u + lid.x) * ${t.cn}u;
  let mBase = wg.y * ${t.rm}u;
  let boff = u.bb * batch;
  let kStart = min(u.K, s * u.kchunk);
  let pb = (s * (nwg.z / u.splits) + batch) * u.M * u.N;
  ${range(t.rm).map((r) => `let m${r} = mBase + ${r}u;\n  let aoff${r} = u.ab * batch + min(m${r}, u.M - 1u) * u.sam;`).join('\n  ')}
  ${colSetup(lp, cn4, 'n0')}
  ${body(lp, t.rm, cn4, 'kStart', 'min(u.K, (s + 1u) * u.kchunk)')}
  ${range(t.rm).flatMap((r) => range(cn4).map((c) => store(lp, `acc${r}_${c}`, `m${r}`, `n0 + ${4 * c}u`, split))).join('\n  ')}
}`,
    };
  });
}

/** Per-call values of reduceProgram: total = B·M·N outputs. */
export const SplitReduceU = uniformDecl({ total: 'u32', N: 'u32', splits: 'u32', nwgx: 'u32' }, 'matmul split-K reduce');

/** Sums split-K partials. p:(S,B,M,N) bias:(N) y:(B,M,N); one invocation per output. */
export function reduceProgram(hasBias: boolean, act: Activation): ProgramSource {
  return defineProgram('matmul.split-reduce', { hasBias, act }, ({ hasBias, act }) => ({
    inputs: hasBias ? 2 : 1,
    outputs: 1,
    code: () => `
${SplitReduceU.wgsl}
${storageDecls(hasBias ? [['P', 'f32'], ['bias', 'f32']] : [['P', 'f32']], [['Y', 'f32']])}
${activationWgsl(act)}
// p:(S,B,M,N) bias:(N) y:(B,M,N)
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * 64u + lid.x;
  if (i >= u.total) { return; }
  var acc = 0.0;
  for (var s = 0u; s < u.splits; s++) { acc += P[s * u.total + i]; }
  Y[i] = act(acc${hasBias ? ' + bias[i % u.N]' : ''});
}`,
  }));
}
