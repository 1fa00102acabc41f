import './sdk-warning';
import { S3Client } from '@aws-sdk/client-s3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type LakeHour, lakeHourOf } from '../local/athena-duckdb';
import { curateLocal, type HourCuration } from '../local/curate';
import { schemaOption } from '../simulator/schema-options';
import { LOCAL_CREDENTIALS, type LocalEndpoints, readLocalEndpoints } from './targets';
import { seeHelp } from './usage';

/**
 * `npm run curate`: moves closed hours of the CSV lake into the curated zone (Parquet), as the hourly
 * state machine does in AWS, with the same SQL (sql/curation/; docs/lake.md). `--target local`: the
 * pipeline `npm start` runs here, DuckDB standing in for Athena. `--target aws`: prints the command that
 * starts the deployed state machine for the hour (this CLI does not call Step Functions itself).
 */

export interface CurateIo {
  out: (text: string) => void;
  /** The local pipeline's endpoints (default: .local/endpoints.json). */
  endpoints?: () => LocalEndpoints;
  nowMs?: () => number;
}

/** An hour as the option gives it, any ISO 8601 time in it: `2026-11-28T17`, `2026-11-28T17:00:00Z`. */
export function parseHour(value: string): LakeHour {
  const text = /^\d{4}-\d\d-\d\dT\d\d$/.test(value) ? `${value}:00:00Z` : value;
  const ms = /^\d{4}-\d\d-\d\d[T ]\d\d/.test(text)
    ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`)
    : NaN;
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(
      `--hour must be an hour in ISO 8601, UTC unless it says otherwise: 2026-11-28T17 or 2026-11-28T17:00:00Z (got ${JSON.stringify(value)}).`,
    );
  return lakeHourOf(ms);
}

export function formatCurations(results: readonly HourCuration[]): string {
  if (results.length === 0)
    return 'No hour to curate: the CSV lake holds no closed hour (try --all --include-current).';
  const lines = results.map(
    (r) =>
      `${r.dt} ${r.hour}:00  ${String(r.curatedReadings).padStart(9)} readings (lake ${r.lakeReadings}) · ${r.curatedAnomalies} anomalies · ${r.equipment} equipment · Parquet ${r.parquetBytes} B, CSV ${r.csvBytes} B${r.key ? ` -> ${r.key}` : ''}`,
  );
  return ['HOUR (UTC)        READINGS', ...lines].join('\n');
}

export function curateCommand(io: CurateIo): Command {
  return new Command('curate')
    .description(
      'Curate closed hours of the CSV lake into the Parquet table curated_readings (deduplicated, ZSTD), checking the row count against the lake (docs/lake.md). Default hour: the last closed one.',
    )
    .addOption(
      new Option(
        '--target <target>',
        'local: the pipeline npm start runs here (DuckDB for Athena); aws: print the command that starts the deployed state machine',
      )
        .choices(['local', 'aws'])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--hour <iso>', 'the hour to curate, UTC: 2026-11-28T17 (default: the last closed hour)')
        .argParser(parseHour)
        .conflicts('all'),
    )
    .option('--all', 'every hour the CSV lake holds, the current one excepted')
    .option('--include-current', 'with --all: the current hour too (once nothing more arrives)')
    .option('--schema <file>', "the readings' schema the local pipeline runs with (default: the lab's)")
    .option('--json', 'one JSON object per hour curated, in an array')
    .option('--name-prefix <prefix>', "with --target aws: the stack's namePrefix", '')
    .showHelpAfterError(seeHelp('npm run curate'))
    .addHelpText(
      'after',
      `
Local: the CSV objects of each hour (and the hour before, for the deduplication) are read from the local
S3, DuckDB runs sql/curation/curate_hour.sql and check_counts.sql, and the hour's Parquet replaces
curated/dt=.../hour=.../ in the local S3. Re-running an hour replaces it.

AWS: the state machine runs hourly by itself; to run it for one hour (a re-run after a failure, say):
  aws stepfunctions start-execution --state-machine-arn <CurationStateMachineArn> --input '{"hour":"2026-11-28T17:00:00Z"}'`,
    )
    .action(async (options) => {
      const now = io.nowMs?.() ?? Date.now();
      const hour: LakeHour = options.hour ?? lakeHourOf(now - 3_600_000);
      if (options.includeCurrent && !options.all)
        throw new InvalidArgumentError('--include-current goes with --all.');
      if (options.target === 'aws') {
        if (options.all)
          throw new InvalidArgumentError(
            '--all is for --target local: in AWS, start one execution per hour.',
          );
        const machine = `${options.namePrefix}sensor-pipeline-curation`;
        io.out(
          [
            `Start the deployed state machine ${machine} for ${hour.dt} ${hour.hour}:00 UTC (the CurationStateMachineArn output):`,
            `  aws stepfunctions start-execution --state-machine-arn "$(aws stepfunctions list-state-machines --query "stateMachines[?name=='${machine}'].stateMachineArn" --output text)" --input '{"hour":"${hour.dt}T${hour.hour}:00:00Z"}'`,
            'Its result: "new data curated" on the CuratedTopicArn topic, or a failure on the ops topic.',
          ].join('\n'),
        );
        return;
      }
      const schema = schemaOption(options.schema);
      const endpoints = (io.endpoints ?? readLocalEndpoints)();
      const s3 = new S3Client({
        region: endpoints.region,
        endpoint: endpoints.s3,
        forcePathStyle: true,
        credentials: LOCAL_CREDENTIALS,
      });
      try {
        const results = await curateLocal({
          s3,
          bucket: endpoints.processedBucket,
          schema,
          hours: options.all ? undefined : [hour],
          all: options.all,
          includeCurrent: options.includeCurrent,
          nowMs: now,
        });
        io.out(options.json ? JSON.stringify(results, null, 2) : formatCurations(results));
      } finally {
        s3.destroy();
      }
    });
}

if (require.main === module) {
  curateCommand({ out: (text) => console.log(text) })
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(`curate: ${error.message}`);
      process.exitCode = 1;
    });
}
