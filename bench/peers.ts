// The TensorFlow.js peers camlight is measured against, set up for Node without a network:
// tfjs-backend-webgpu on the same Dawn instance (so the same adapter) as camlight,
// tfjs-backend-wasm with its .wasm files read from node_modules, and tfjs-backend-cpu as the
// numeric reference. tfjs backends are global state: call usePeer() before each phase.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { nodeGpu } from '../src/gpu/node-adapter.ts';

export { tf };

export type Peer = 'tfjs-webgpu' | 'tfjs-wasm' | 'tfjs-cpu';
export const PEERS: readonly Peer[] = ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'];

const BACKEND: Record<Peer, string> = { 'tfjs-webgpu': 'webgpu', 'tfjs-wasm': 'wasm', 'tfjs-cpu': 'cpu' };
const registered = new Set<Peer>(['tfjs-cpu']);

// PROD silences tfjs's "you are running in Node, install tfjs-node" banner and skips NaN
// checks on every op (which would otherwise be timed).
tf.env().set('PROD', true);

/** Directory holding tfjs-backend-wasm's .wasm binaries (node_modules/.../dist/). */
export function wasmDir(): string {
  const req = createRequire(import.meta.url);
  return join(dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

async function register(peer: Peer): Promise<void> {
  if (registered.has(peer)) return;
  if (peer === 'tfjs-webgpu') {
    // The backend registers itself at import time only if navigator.gpu exists; Node 20 has no
    // navigator. Handing it camlight's Dawn instance puts both on the same adapter.
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (!g.navigator?.gpu) {
      Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: nodeGpu() }, configurable: true, writable: true });
    }
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (peer === 'tfjs-wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // A plain file path works in Node (emscripten reads it with fs); threads are unavailable
    // in Node (tfjs disables them there), so this is single-threaded SIMD.
    wasm.setWasmPaths(wasmDir());
  }
  registered.add(peer);
}

/**
 * Makes `peer` the active tfjs backend (registering it on first use).
 * @example
 *   await usePeer('tfjs-wasm'); const y = tf.matMul(a, b);
 */
export async function usePeer(peer: Peer): Promise<void> {
  await register(peer);
  const ok = await tf.setBackend(BACKEND[peer]);
  if (!ok || tf.getBackend() !== BACKEND[peer]) throw new Error(`could not start the ${peer} backend`);
  await tf.ready();
}

/** A one-line description of the peer's configuration, for the bench header (starts the peer). */
export async function describePeer(peer: Peer): Promise<string> {
  await usePeer(peer);
  if (peer === 'tfjs-wasm') {
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return `tfjs-backend-wasm ${tf.version_core}, ${simd ? 'SIMD' : 'no SIMD'}, ${getThreadsCount()} thread(s) (tfjs has no wasm threads in Node)`;
  }
  if (peer === 'tfjs-webgpu') return `tfjs-backend-webgpu ${tf.version_core} on the same Dawn adapter`;
  return `tfjs-backend-cpu ${tf.version_core} (reference)`;
}
