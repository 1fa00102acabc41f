import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_WINDOW_MS,
  type LastMinutesResult,
  latestReadingMs,
  queryLastMinutes,
} from '../lambdas/shared/aws/last-minutes';
import { queryMinuteAggregates } from '../lambdas/shared/aws/minute-aggregates';
import { FEATURES } from '../lambdas/shared/features';
import type { MinuteAggregate } from '../lambdas/shared/minute-windows';
import { compareIds } from '../lambdas/shared/minute-windows';
import type { ReadingRow } from '../lambdas/shared/processed-reading';
import { type DynamoTarget, documentClientFor, resolveTableTarget, type Target } from './targets';

/** `npm run last3`: the readings of the last 3 minutes, as the lab's STREAMDATA_LAST3_VIEW shows them. */

interface Last3Options {
  target: Target;
  equipment?: number;
  relativeTo: 'now' | 'latest';
  minutes: number;
  json: boolean;
  perMinute: boolean;
  limit?: number;
  table?: string;
  namePrefix: string;
  region?: string;
  endpoint?: string;
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Builds the DynamoDB client; tests pass their own. */
  client?: (target: DynamoTarget) => DynamoDBDocumentClient;
}

const positiveInt = (name: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return number;
};

export function last3Command(io: CliIo): Command {
  return new Command('last3')
    .description('Print the readings of the last 3 minutes from the DynamoDB documents, one row per reading.')
    .addOption(
      new Option('--target <target>', 'the deployed stack or the local pipeline')
        .choices(['aws', 'local'])
        .default('aws'),
    )
    .option('--equipment <id>', 'only this equipment id', positiveInt('--equipment'))
    .addOption(
      new Option(
        '--relative-to <time>',
        'end the window now, or at the newest reading stored (as the lab view does)',
      )
        .choices(['now', 'latest'])
        .default('now'),
    )
    .option(
      '--minutes <n>',
      'length of the window in minutes',
      positiveInt('--minutes'),
      DEFAULT_WINDOW_MS / 60_000,
    )
    .option('--json', 'print JSON (every row) instead of a table', false)
    .option(
      '--per-minute',
      'per equipment and minute of event time: count, late readings, anomalies, feature averages (live windows)',
      false,
    )
    .option('--limit <n>', 'print at most the n newest rows (table default: 20)', positiveInt('--limit'))
    .option('--table <name>', 'readings table name (default: <name-prefix>sensor-readings)')
    .option('--name-prefix <prefix>', 'the namePrefix the stack was deployed with', '')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--endpoint <url>', 'a DynamoDB-compatible endpoint (overrides the target)')
    .showHelpAfterError()
    .action(async (options: Last3Options) => {
      const target = resolveTableTarget(options);
      const client = (io.client ?? documentClientFor)(target);
      if (options.perMinute) {
        const toMs =
          options.relativeTo === 'now'
            ? Date.now()
            : await latestReadingMs(client, target.tableName, options.equipment);
        const windows =
          toMs === undefined
            ? []
            : await queryMinuteAggregates(client, {
                tableName: target.tableName,
                fromMs: toMs - options.minutes * 60_000,
                toMs,
                equipmentId: options.equipment,
              });
        io.out(options.json ? JSON.stringify(windows.map(windowJson), null, 2) : formatMinutes(windows));
        return;
      }
      const result = await queryLastMinutes(client, {
        tableName: target.tableName,
        equipmentId: options.equipment,
        relativeTo: options.relativeTo,
        windowMs: options.minutes * 60_000,
      });
      io.out(options.json ? formatJson(result, options) : formatTable(result, options));
    });
}

function newest<T>(rows: readonly T[], limit: number | undefined): T[] {
  return limit === undefined ? [...rows] : rows.slice(Math.max(0, rows.length - limit));
}

export function formatJson(
  result: LastMinutesResult,
  options: Pick<Last3Options, 'limit' | 'relativeTo'>,
): string {
  return JSON.stringify(
    {
      from: result.fromMs === undefined ? null : new Date(result.fromMs).toISOString(),
      to: result.toMs === undefined ? null : new Date(result.toMs).toISOString(),
      relativeTo: options.relativeTo,
      count: result.rows.length,
      anomalies: result.rows.filter((row) => row.is_anomaly).length,
      rows: newest(result.rows, options.limit),
    },
    null,
    2,
  );
}

const TABLE_COLUMNS: [string, (row: ReadingRow) => string][] = [
  ['TIMESTAMP', (r) => r.timestamp],
  ['EQUIPMENT', (r) => String(r.equipment_id)],
  ['AMPLITUDE', (r) => (r.vibration_amplitude as number).toFixed(2)],
  ['FREQUENCY', (r) => (r.vibration_frequency as number).toFixed(2)],
  ['TEMPERATURE', (r) => (r.temperature as number).toFixed(2)],
  ['HUMIDITY', (r) => (r.humidity as number).toFixed(2)],
  ['SCORE', (r) => r.anomaly_score.toFixed(3)],
  ['ANOMALY', (r) => (r.is_anomaly ? 'yes' : '')],
  ['REASONS', (r) => r.reasons],
];

export function formatTable(
  result: LastMinutesResult,
  options: Pick<Last3Options, 'limit' | 'relativeTo'>,
): string {
  if (result.toMs === undefined || result.fromMs === undefined) return 'No readings stored yet.';
  const window = `${new Date(result.fromMs).toISOString()} .. ${new Date(result.toMs).toISOString()}`;
  if (result.rows.length === 0) return `No readings between ${window}.`;
  const shown = newest(result.rows, options.limit ?? 20);
  const cells = [
    TABLE_COLUMNS.map(([title]) => title),
    ...shown.map((row) => TABLE_COLUMNS.map(([, cell]) => cell(row))),
  ];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const lines = cells.map((line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  const equipment = [...new Set(result.rows.map((r) => r.equipment_id))].sort(compareIds).join(', ');
  const anomalies = result.rows.filter((r) => r.is_anomaly).length;
  const summary =
    `${result.rows.length} readings of equipment ${equipment} between ${window} (relative to ${options.relativeTo}), ` +
    `${anomalies} anomalous; ${shown.length < result.rows.length ? `the newest ${shown.length} shown (--limit)` : 'all shown'}.`;
  return [...lines, '', summary].join('\n');
}

function windowJson(window: MinuteAggregate) {
  const feature = (values: number[]) =>
    Object.fromEntries(FEATURES.map((f, i) => [f, Number.isNaN(values[i]) ? null : values[i]]));
  return {
    minute: new Date(window.minuteMs).toISOString(),
    equipment_id: window.equipmentId,
    count: window.count,
    late: window.late,
    anomalies: window.anomalies,
    avg: feature(window.means),
    min: feature(window.mins),
    max: feature(window.maxs),
  };
}

export function formatMinutes(windows: readonly MinuteAggregate[]): string {
  if (windows.length === 0) return 'No per-minute windows in this period.';
  const header = [
    'MINUTE',
    'EQUIPMENT',
    'READINGS',
    'LATE',
    'ANOMALIES',
    'AMPLITUDE',
    'FREQUENCY',
    'TEMPERATURE',
    'HUMIDITY',
  ];
  const cells = [
    header,
    ...windows.map((w) => [
      new Date(w.minuteMs).toISOString().slice(0, 16).replace('T', ' '),
      String(w.equipmentId),
      String(w.count),
      String(w.late),
      String(w.anomalies),
      ...w.means.map((mean) => (Number.isNaN(mean) ? '' : mean.toFixed(2))),
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const lines = cells.map((line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  return [
    ...lines,
    '',
    'Averages over the readings on time; LATE readings arrived after the allowed lateness.',
  ].join('\n');
}

if (require.main === module) {
  last3Command({ out: (text) => console.log(text), err: (text) => console.error(text) })
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(`last3: ${error.message}`);
      process.exitCode = 1;
    });
}
