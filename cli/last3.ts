import './sdk-warning';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_WINDOW_MS,
  type LastMinutesResult,
  latestReadingMs,
  queryLastMinutes,
} from '../lambdas/shared/aws/last-minutes';
import { queryMinuteAggregates } from '../lambdas/shared/aws/minute-aggregates';
import type { MinuteAggregate } from '../lambdas/shared/minute-windows';
import { compareIds } from '../lambdas/shared/minute-windows';
import type { ReadingRow } from '../lambdas/shared/processed-reading';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema, type SchemaFeature } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { explainAwsError } from './aws-access';
import { type DynamoTarget, documentClientFor, resolveTableTarget, type Target } from './targets';
import { npmBannerNote, seeHelp } from './usage';

/**
 * `npm run last3`: the readings of the last 3 minutes, as the lab's STREAMDATA_LAST3_VIEW shows them,
 * with a column per feature of the reading schema (`--schema FILE`; default: the lab's).
 */

interface Last3Options {
  target: Target;
  /** As typed: an integer or a string id, by the schema's equipment type. */
  equipment?: string;
  schema?: ReadingSchema;
  /** Only these features' columns in the table (--features a,b). */
  features?: string[];
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

const schemaFile = (path: string): ReadingSchema => {
  try {
    return loadReadingSchema(path);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

const featureList = (value: string): string[] =>
  value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');

/** The --equipment id as the schema's equipment ids are: an integer in its range, or a string matching its pattern. */
export function parseEquipmentOption(value: string, schema: ReadingSchema): EquipmentId {
  const { equipment } = schema;
  if (equipment.type === 'integer') {
    const number = Number(value);
    if (!Number.isInteger(number) || number < equipment.min || number > equipment.max)
      throw new Error(
        equipment.min === 1
          ? '--equipment must be a positive integer.'
          : `--equipment must be an integer from ${equipment.min} to ${equipment.max}.`,
      );
    return number;
  }
  if (!equipment.pattern.test(value))
    throw new Error(
      `--equipment must be an equipment id of the schema ${schema.id} (matching ${equipment.pattern.source}).`,
    );
  return value;
}

/** The features --features names, in the schema's order; all of them without it. */
export function selectFeatures(schema: ReadingSchema, names: readonly string[] | undefined): SchemaFeature[] {
  if (names === undefined) return [...schema.features];
  const unknown = names.filter((name) => !schema.featureNames.includes(name));
  if (unknown.length > 0)
    throw new Error(
      `--features: ${unknown.join(', ')} not in the schema ${schema.id} (its features: ${schema.featureNames.join(', ')}).`,
    );
  return schema.features.filter((feature) => names.includes(feature.name));
}

/**
 * The query modules take the id as the lab's number, but build their keys with String(): a string id
 * of another schema queries the same way.
 */
const queryId = (id: EquipmentId | undefined) => id as number | undefined;

export function last3Command(io: CliIo): Command {
  return new Command('last3')
    .description('Print the readings of the last 3 minutes from the DynamoDB documents, one row per reading.')
    .addOption(
      new Option(
        '--target <target>',
        'aws: the deployed stack, with your AWS credentials and region; local: the pipeline `npm start` runs here',
      )
        .choices(['aws', 'local'])
        .default('aws'),
    )
    .option(
      '--schema <file>',
      "the reading schema (JSON or YAML) the pipeline runs with (default: the lab's four features)",
      schemaFile,
    )
    .option('--equipment <id>', 'only this equipment id')
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
    .option(
      '--features <names>',
      'only these features in the table, comma-separated (default: every feature of the schema)',
      featureList,
    )
    .option('--limit <n>', 'print at most the n newest rows (table default: 20)', positiveInt('--limit'))
    .option('--table <name>', 'readings table name (default: <name-prefix>sensor-readings)')
    .option('--name-prefix <prefix>', 'the namePrefix the stack was deployed with', '')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--endpoint <url>', 'a DynamoDB-compatible endpoint (overrides the target)')
    .showHelpAfterError(seeHelp('npm run last3'))
    .action(async (options: Last3Options, command: Command) => {
      const bannerNote = options.json ? npmBannerNote('last3') : undefined;
      if (bannerNote) io.err(bannerNote);
      const schema = options.schema ?? LAB_SCHEMA;
      let equipmentId: EquipmentId | undefined;
      let features: SchemaFeature[];
      try {
        equipmentId =
          options.equipment === undefined ? undefined : parseEquipmentOption(options.equipment, schema);
        features = selectFeatures(schema, options.features);
      } catch (error) {
        command.error(`error: ${(error as Error).message}`);
      }
      const target = resolveTableTarget(options);
      const client = (io.client ?? documentClientFor)(target);
      if (options.perMinute) {
        const toMs =
          options.relativeTo === 'now'
            ? Date.now()
            : await latestReadingMs(client, target.tableName, queryId(equipmentId));
        const windows =
          toMs === undefined
            ? []
            : await queryMinuteAggregates(client, {
                tableName: target.tableName,
                fromMs: toMs - options.minutes * 60_000,
                toMs,
                equipmentId: queryId(equipmentId),
                schema,
              });
        io.out(
          options.json
            ? JSON.stringify(
                windows.map((window) => windowJson(window, schema, features)),
                null,
                2,
              )
            : formatMinutes(windows, schema, features),
        );
        return;
      }
      const result = await queryLastMinutes(client, {
        tableName: target.tableName,
        equipmentId: queryId(equipmentId),
        relativeTo: options.relativeTo,
        windowMs: options.minutes * 60_000,
      });
      io.out(
        options.json
          ? formatJson(result, { ...options, schema, features })
          : formatTable(result, { ...options, schema, features }),
      );
    });
}

function newest<T>(rows: readonly T[], limit: number | undefined): T[] {
  return limit === undefined ? [...rows] : rows.slice(Math.max(0, rows.length - limit));
}

export interface FormatOptions extends Pick<Last3Options, 'limit' | 'relativeTo'> {
  /** Default: the lab's. */
  schema?: ReadingSchema;
  /** The features shown, in the schema's order (default: all of them). */
  features?: readonly SchemaFeature[];
}

function featuresOf(options: FormatOptions): readonly SchemaFeature[] {
  return options.features ?? (options.schema ?? LAB_SCHEMA).features;
}

export function formatJson(result: LastMinutesResult, options: FormatOptions): string {
  const schema = options.schema ?? LAB_SCHEMA;
  const features = featuresOf(options);
  return JSON.stringify(
    {
      from: result.fromMs === undefined ? null : new Date(result.fromMs).toISOString(),
      to: result.toMs === undefined ? null : new Date(result.toMs).toISOString(),
      relativeTo: options.relativeTo,
      schema: schema.id,
      features: features.map((feature) => feature.name),
      count: result.rows.length,
      anomalies: result.rows.filter((row) => row.is_anomaly).length,
      rows: newest(result.rows, options.limit).map((row) => jsonRow(row, features)),
    },
    null,
    2,
  );
}

/**
 * A row with the schema's features, by name, between the reading's metadata and its score, as the CSV
 * lake has them; null for a feature the reading left out (or its document does not hold).
 */
function jsonRow(row: ReadingRow, features: readonly SchemaFeature[]): Record<string, unknown> {
  const {
    anomaly_score,
    is_anomaly,
    anomalous_features,
    reasons,
    model_version,
    stream,
    shard_id,
    partition_key,
    sequence_number,
    reading_index,
    arrival_time,
    timestamp,
    equipment_id,
  } = row;
  return {
    stream,
    shard_id,
    partition_key,
    sequence_number,
    reading_index,
    arrival_time,
    timestamp,
    equipment_id,
    ...Object.fromEntries(features.map((feature) => [feature.name, featureValue(row, feature.name)])),
    anomaly_score,
    is_anomaly,
    anomalous_features,
    reasons,
    model_version,
  };
}

function featureValue(row: ReadingRow, feature: string): number | null {
  const value = row[feature];
  return typeof value === 'number' && !Number.isNaN(value) ? value : null;
}

/** The lab's table headers, as the lab's view names its columns. */
const LAB_HEADERS: Record<string, string> = {
  vibration_amplitude: 'AMPLITUDE',
  vibration_frequency: 'FREQUENCY',
  temperature: 'TEMPERATURE',
  humidity: 'HUMIDITY',
};

/** A feature's column header: its label in capitals, and its unit ("ACTIVE POWER (kW)"). */
export function featureHeader(feature: SchemaFeature, schema: ReadingSchema): string {
  if (schema.isLab && LAB_HEADERS[feature.name]) return LAB_HEADERS[feature.name];
  return `${feature.label.toUpperCase()}${feature.unit === '' ? '' : ` (${feature.unit})`}`;
}

/**
 * Decimals of a feature's column: 2, or more when its typical value is below 1 (a power factor 0.934)
 * or when the schema says its noise is finer than that (a grid frequency of 50.012 Hz, noise 0.02), so
 * the digits that move show. At most 6.
 */
export function decimalsFor(values: readonly number[], feature?: SchemaFeature): number {
  const magnitudes = values
    .filter((value) => Number.isFinite(value) && value !== 0)
    .map(Math.abs)
    .sort((a, b) => a - b);
  const typical = magnitudes[Math.floor(magnitudes.length / 2)];
  const byValue = typical === undefined || typical >= 1 ? 2 : 2 - Math.floor(Math.log10(typical));
  const noise = feature?.simulation?.noise;
  const byNoise = noise ? 1 - Math.floor(Math.log10(noise)) : 2;
  return Math.min(6, Math.max(2, byValue, byNoise));
}

type Column = [header: string, cells: string[]];

/** A feature's column: header and one cell per value, empty where a value is missing. */
function featureColumn(
  feature: SchemaFeature,
  schema: ReadingSchema,
  values: readonly (number | null)[],
): Column {
  const decimals = decimalsFor(
    values.filter((value): value is number => value !== null),
    feature,
  );
  return [
    featureHeader(feature, schema),
    values.map((value) => (value === null || Number.isNaN(value) ? '' : value.toFixed(decimals))),
  ];
}

/** Columns padded to their widest cell, two spaces apart. */
function layout(columns: readonly Column[]): string[] {
  const widths = columns.map(([header, cells]) =>
    Math.max(header.length, ...cells.map((cell) => cell.length)),
  );
  const lines = [columns.map(([header]) => header)];
  const rows = columns[0]?.[1].length ?? 0;
  for (let i = 0; i < rows; i++) lines.push(columns.map(([, cells]) => cells[i]));
  return lines.map((line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

export function formatTable(result: LastMinutesResult, options: FormatOptions): string {
  if (result.toMs === undefined || result.fromMs === undefined) return 'No readings stored yet.';
  const window = `${new Date(result.fromMs).toISOString()} .. ${new Date(result.toMs).toISOString()}`;
  if (result.rows.length === 0) return `No readings between ${window}.`;
  const schema = options.schema ?? LAB_SCHEMA;
  const shown = newest(result.rows, options.limit ?? 20);
  const lines = layout([
    ['TIMESTAMP', shown.map((row) => row.timestamp)],
    ['EQUIPMENT', shown.map((row) => String(row.equipment_id))],
    ...featuresOf(options).map((feature) =>
      featureColumn(
        feature,
        schema,
        shown.map((row) => featureValue(row, feature.name)),
      ),
    ),
    ['SCORE', shown.map((row) => row.anomaly_score.toFixed(3))],
    ['ANOMALY', shown.map((row) => (row.is_anomaly ? 'yes' : ''))],
    ['REASONS', shown.map((row) => row.reasons)],
  ]);
  const equipment = [...new Set(result.rows.map((r) => r.equipment_id))].sort(compareIds).join(', ');
  const anomalies = result.rows.filter((r) => r.is_anomaly).length;
  const summary =
    `${result.rows.length} readings of equipment ${equipment} between ${window} (relative to ${options.relativeTo}), ` +
    `${anomalies} anomalous; ${shown.length < result.rows.length ? `the newest ${shown.length} shown (--limit)` : 'all shown'}.`;
  return [...lines, '', summary].join('\n');
}

/** A window's values by feature name; its value lists are in the schema's order. */
function windowJson(
  window: MinuteAggregate,
  schema: ReadingSchema = LAB_SCHEMA,
  features: readonly SchemaFeature[] = schema.features,
) {
  const byName = (values: number[]) =>
    Object.fromEntries(
      features.map((feature) => {
        const value = values[schema.featureNames.indexOf(feature.name)];
        return [feature.name, value === undefined || Number.isNaN(value) ? null : value];
      }),
    );
  return {
    minute: new Date(window.minuteMs).toISOString(),
    equipment_id: window.equipmentId,
    count: window.count,
    late: window.late,
    anomalies: window.anomalies,
    avg: byName(window.means),
    min: byName(window.mins),
    max: byName(window.maxs),
  };
}

export function formatMinutes(
  windows: readonly MinuteAggregate[],
  schema: ReadingSchema = LAB_SCHEMA,
  features: readonly SchemaFeature[] = schema.features,
): string {
  if (windows.length === 0) return 'No per-minute windows in this period.';
  const lines = layout([
    ['MINUTE', windows.map((w) => new Date(w.minuteMs).toISOString().slice(0, 16).replace('T', ' '))],
    ['EQUIPMENT', windows.map((w) => String(w.equipmentId))],
    ['READINGS', windows.map((w) => String(w.count))],
    ['LATE', windows.map((w) => String(w.late))],
    ['ANOMALIES', windows.map((w) => String(w.anomalies))],
    ...features.map((feature) => {
      const index = schema.featureNames.indexOf(feature.name);
      return featureColumn(
        feature,
        schema,
        windows.map((w) => w.means[index] ?? null),
      );
    }),
  ]);
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
      console.error(`last3: ${explainAwsError(error)}`);
      process.exitCode = 1;
    });
}
