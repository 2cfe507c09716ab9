// Types for the part of pako 1.0 (zlib in JavaScript) that png-check.ts uses: streaming inflate.
declare module 'pako' {
  export class Inflate {
    constructor(opts?: { chunkSize?: number });
    onData: (chunk: Uint8Array) => void;
    onEnd: (status: number) => void;
    push(data: Uint8Array, last: boolean): boolean;
    err: number;
    msg: string;
  }
  const pako: { Inflate: typeof Inflate; inflate(data: Uint8Array): Uint8Array };
  export default pako;
}
