// 'nap' waits on a real CPU adapter: while lavapipe computes on the host's cores, a wait must
// not spin the main thread (Dawn's Node binding polls in a setImmediate loop while a promise is
// pending, taking a core from the adapter; src/gpu/wait.ts). Measured as the main thread's own
// CPU time (Linux /proc/thread-self/stat) over a wait of a few hundred ms, with 'spin' as the
// control arm: the same measurement must see the spin there.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { upload } from '../../src/tensor/tensor.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import type { WaitMode } from '../../src/gpu/wait.ts';
import { gpu, randn } from '../helpers.ts';

const s = suite('gpu/wait-nap');

/** This thread's user + system CPU time in ms (fields 14 and 15 of /proc/thread-self/stat, in clock ticks of 10 ms). */
function threadCpuMs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

s('on a CPU adapter the default is nap, and a nap wait leaves the cores to the adapter; spin does not', async () => {
  const rt = await gpu();
  if (rt.adapterClass !== 'cpu') {
    // On a real GPU the spin costs a host core but not GPU time: the default stays 'sleep'.
    assert.is(rt.waitMode, 'sleep');
    return;
  }
  assert.is(rt.waitMode, 'nap', `default wait mode on '${rt.adapterName}'`);
  const n = 768;
  const a = upload(randn(n * n, 1), [n, n]);
  const b = upload(randn(n * n, 2), [n, n]);
  const job = async (launches: number) => {
    const ys = Array.from({ length: launches }, () => matmul(a, b));
    const t0 = performance.now(), c0 = threadCpuMs();
    await rt.sync();
    const r = { wallMs: performance.now() - t0, cpuMs: threadCpuMs() - c0 };
    ys.forEach((y) => y.dispose());
    return r;
  };
  await job(1); // compile
  // Enough launches for a wait of ≥ 300 ms (the 10 ms tick of /proc is then ≤ 3 %).
  let launches = 2;
  while ((await job(launches)).wallMs < 300 && launches < 256) launches *= 2;
  const share = async (mode: WaitMode) => {
    rt.setWaitMode(mode);
    const r = await job(launches);
    return { ...r, share: r.cpuMs / r.wallMs };
  };
  try {
    const nap = await share('nap');
    const spin = await share('spin');
    const nap2 = await share('nap');
    const fmt = (x: { wallMs: number; cpuMs: number }) => `${x.cpuMs} ms CPU in ${x.wallMs.toFixed(0)} ms`;
    assert.ok(spin.share > 0.5, `control: spin must show the main thread busy (${fmt(spin)})`);
    for (const r of [nap, nap2]) assert.ok(r.share < 0.1, `nap: main thread ${fmt(r)} (spin: ${fmt(spin)})`);
  } finally {
    rt.setWaitMode('nap');
    a.dispose();
    b.dispose();
  }
});

s.run();
