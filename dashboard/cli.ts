import '../cli/sdk-warning';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkAwsAccess, explainAwsError } from '../cli/aws-access';
import { type DynamoTarget, documentClientFor, resolveTableTarget, type Target } from '../cli/targets';
import { seeHelp } from '../cli/usage';
import { DEFAULT_WINDOW_MS, type RelativeTo } from '../lambdas/shared/aws/last-minutes';
import type { ReadingSchema } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { type DashboardServer, startDashboardServer } from './server';
import { TableSource } from './table-source';

/**
 * `npm run dashboard`: the live dashboard for a deployed stack (your own AWS credentials) or for the
 * local pipeline `npm start` runs. The server listens on 127.0.0.1 only; nothing is public.
 */

export interface DashboardOptions {
  target: Target;
  port: number;
  relativeTo: RelativeTo;
  minutes: number;
  table?: string;
  namePrefix: string;
  region?: string;
  endpoint?: string;
  /** The reading schema the pipeline runs with (--schema FILE); default: the lab's. */
  schema?: ReadingSchema;
}

export interface DashboardIo {
  out: (text: string) => void;
  /** Builds the DynamoDB client; tests pass their own. */
  client?: (target: DynamoTarget) => DynamoDBDocumentClient;
}

const intInRange = (name: string, min: number, max: number) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max)
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
  return number;
};

/** `--schema FILE`: read when the option is parsed, so a bad file is reported like a bad option. */
export function schemaOption(path: string): ReadingSchema {
  try {
    return loadReadingSchema(path);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function dashboardCommand(io: DashboardIo): Command {
  return new Command('dashboard')
    .description(
      "Serve the live dashboard: per equipment each of the reading schema's features over the last minutes, anomalies, alerts and counters.",
    )
    .addOption(
      new Option(
        '--target <target>',
        'aws: the deployed stack, with your AWS credentials and region; local: the pipeline `npm start` runs here',
      )
        .choices(['aws', 'local'])
        .default('aws'),
    )
    .option('--port <port>', 'port on 127.0.0.1 (0 picks a free one)', intInRange('--port', 0, 65_535), 0)
    .addOption(
      new Option('--relative-to <time>', 'end the window now, or at the newest reading stored')
        .choices(['now', 'latest'])
        .default('now'),
    )
    .option(
      '--minutes <n>',
      'length of the window in minutes',
      intInRange('--minutes', 1, 60),
      DEFAULT_WINDOW_MS / 60_000,
    )
    .option(
      '--schema <file>',
      "the reading schema (JSON or YAML) the pipeline runs with (default: the lab's four features)",
      schemaOption,
    )
    .option('--table <name>', 'readings table name (default: <name-prefix>sensor-readings)')
    .option('--name-prefix <prefix>', 'the namePrefix the stack was deployed with', '')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--endpoint <url>', 'a DynamoDB-compatible endpoint (overrides the target)')
    .showHelpAfterError(seeHelp('npm run dashboard'))
    .action(async (options: DashboardOptions) => {
      const server = await startDashboard(options, io);
      io.out(`Dashboard (${options.target}): ${server.url}  (Ctrl-C to stop)`);
      stopOnSignal(server, io);
    });
}

export async function startDashboard(options: DashboardOptions, io: DashboardIo): Promise<DashboardServer> {
  const target = resolveTableTarget(options);
  const client = (io.client ?? documentClientFor)(target);
  // Without a region or credentials the page would wait for data forever: fail now, saying why.
  if (!target.local) await checkAwsAccess(client);
  const source = new TableSource(client, target.tableName, {
    target: options.target,
    relativeTo: options.relativeTo,
    windowMs: options.minutes * 60_000,
    schema: options.schema,
  });
  return startDashboardServer({ source, port: options.port });
}

function stopOnSignal(server: DashboardServer, io: DashboardIo): void {
  const stop = () => {
    io.out('Stopping the dashboard.');
    server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  dashboardCommand({ out: (text) => console.log(text) })
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(`dashboard: ${explainAwsError(error)}`);
      process.exitCode = 1;
    });
}
