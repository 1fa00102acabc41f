import { PassThrough } from 'node:stream';
import { simulateCommand } from '../../simulator/cli';

/** Runs `npm run simulate -- <args>` in process; returns what it wrote. */
export async function simulate(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
  const command = simulateCommand({ stdout, stderr })
    .exitOverride()
    .configureOutput({ writeErr: (text) => stderr.write(text), writeOut: (text) => stdout.write(text) });
  await command.parseAsync(args, { from: 'user' });
  return { stdout: Buffer.concat(chunks.stdout).toString(), stderr: Buffer.concat(chunks.stderr).toString() };
}
