import { join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Bundles the simulator CLI into one CommonJS file for a plain Node.js 20 install (the SDK and every
 * other dependency inside): `node simulator.js --target aws ...`. Synchronous, as CDK asset bundling is.
 */
export function bundleSimulator(outfile: string): void {
  buildSync({
    entryPoints: [join(__dirname, 'cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'silent',
  });
}
