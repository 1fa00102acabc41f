import { basename } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { readCsvHeader } from '../ml/csv-dataset';
import { isoOf, type ReplayMapping, type ReplayPace, type ReplaySource, schemaColumns } from './replay';
import type { RunSummary } from './run';
import { equipmentIdProblem, simulatedFeatures } from './schema-generator';
import { simulatedTimestampForm } from './timestamps';

/**
 * What `npm run simulate` and `npm start` share of their options: the reading schema (--schema), the
 * equipment ids of its kind, the replay's columns and pace, and the lines both print about them.
 */

/** The reading schema of a --schema FILE; the lab's without one. */
export function schemaOption(file: string | undefined): ReadingSchema {
  return file === undefined ? LAB_SCHEMA : loadReadingSchema(file);
}

/** --map FIELD=COLUMN,...: the pairs, each field once (whether each is a feature depends on the schema). */
export function columnMap(value: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const equals = pair.indexOf('=');
    const [field, column] = [pair.slice(0, equals).trim(), pair.slice(equals + 1).trim()];
    if (equals < 0 || field === '' || column === '') {
      throw new InvalidArgumentError(`--map takes FIELD=COLUMN pairs separated by commas, got "${pair}".`);
    }
    if (map[field] !== undefined) throw new InvalidArgumentError(`--map: ${field} is mapped twice.`);
    map[field] = column;
  }
  return map;
}

/** --delimiter: `\\t` for a tab. */
export function delimiterOption(value: string): string {
  if (value === '') throw new InvalidArgumentError('--delimiter must not be empty.');
  return value === '\\t' ? '\t' : value;
}

/** Every field of a --map is a feature of the schema. */
/**
 * The options of a replay (--map, --timestamp-column, --equipment-id or --equipment-column, --delimiter,
 * --speed), as `npm run simulate` and `npm start` both take them.
 */
export function addReplayOptions(command: Command): Command {
  return command
    .option(
      '--map <fields>',
      "with --replay: FIELD=COL,... the column of each reading field: without --schema, all four of the lab's (vibration_amplitude, vibration_frequency, temperature, humidity); with --schema, those to read from another column than the schema says",
      columnMap,
    )
    .option(
      '--timestamp-column <col>',
      "with --replay: the column of recorded times (ISO 8601, YYYY-MM-DD HH:MM:SS[.ffffff] in UTC, or epoch ms; default with --schema: the schema's timestamp field, if the file has it)",
    )
    .addOption(
      new Option(
        '--equipment-id <id>',
        "with --replay: the equipment id of every row (default: the schema's first simulation equipment, 101 for the lab)",
      ).conflicts('equipmentColumn'),
    )
    .option('--equipment-column <col>', "with --replay: the column of each row's equipment id")
    .option(
      '--delimiter <c>',
      "with --replay: the CSV delimiter ('\\t' for a tab; SKAB uses ';')",
      delimiterOption,
      ',',
    )
    .option(
      '--speed <x>',
      "with --replay: x times the recording's own pace, from its timestamps (default: 1, real time; --rate R sends R readings/s instead)",
      (value: string) => {
        const speed = Number(value);
        if (!(speed > 0 && Number.isFinite(speed)))
          throw new InvalidArgumentError('--speed must be positive.');
        return speed;
      },
    );
}

export function checkMappedFeatures(map: Record<string, string> | undefined, schema: ReadingSchema): void {
  for (const field of Object.keys(map ?? {})) {
    if (!schema.featureNames.includes(field)) {
      throw new InvalidArgumentError(
        `--map: "${field}" is not a reading field (${schema.featureNames.join(', ')}).`,
      );
    }
  }
}

/** --equipment a,b,c: the ids as text (their kind depends on the schema). */
export function equipmentTexts(value: string): string[] {
  const ids = value.split(',').map((id) => id.trim());
  if (ids.some((id) => id === '')) {
    throw new InvalidArgumentError('--equipment must be a comma-separated list of ids.');
  }
  return ids;
}

/** What an equipment id of the schema is, for messages. */
function idKind(schema: ReadingSchema): string {
  const { equipment } = schema;
  if (equipment.type === 'string') return `ids that match ${equipment.pattern.source}`;
  return equipment.min === 1 && equipment.max === 2_147_483_647
    ? 'positive integer ids'
    : `integer ids from ${equipment.min} to ${equipment.max}`;
}

/** The schema's equipment ids from their text, or an error naming the option and the rule. */
export function equipmentIds(
  texts: readonly string[],
  schema: ReadingSchema,
  option = '--equipment',
): EquipmentId[] {
  const ids = texts.map((text) => (schema.equipment.type === 'integer' ? Number(text) : text));
  if (ids.some((id) => equipmentIdProblem(schema, id))) {
    throw new InvalidArgumentError(`${option} must be a comma-separated list of ${idKind(schema)}.`);
  }
  return ids;
}

/** One equipment id of the schema (--equipment-id). */
export function equipmentIdOption(
  text: string,
  schema: ReadingSchema,
  option = '--equipment-id',
): EquipmentId {
  const { equipment } = schema;
  const id = equipment.type === 'integer' && text.trim() !== '' ? Number(text) : text;
  if (equipmentIdProblem(schema, id)) {
    const rule =
      equipment.type === 'string'
        ? `an id that matches ${equipment.pattern.source}`
        : equipment.min === 1
          ? `a positive integer up to ${equipment.max}`
          : `an integer from ${equipment.min} to ${equipment.max}`;
    throw new InvalidArgumentError(`${option} must be ${rule}.`);
  }
  return id;
}

/**
 * `count` equipment ids (--equipment-count), numbered on from the schema's first simulation equipment:
 * 101, 102, ... for the lab; feeder-01, feeder-02, ... for ids ending in digits.
 */
export function equipmentSeries(schema: ReadingSchema, count: number): EquipmentId[] {
  const first = schema.simulationEquipment[0];
  const ids: EquipmentId[] = [];
  for (let i = 0; i < count; i++) {
    if (typeof first === 'number') ids.push(first + i);
    else {
      const [, stem, digits] = /^(.*?)(\d*)$/.exec(first) as RegExpExecArray;
      const number = digits === '' ? String(i + 1) : String(Number(digits) + i).padStart(digits.length, '0');
      ids.push(digits === '' ? `${stem}-${number}` : `${stem}${number}`);
    }
  }
  const bad = ids.find((id) => equipmentIdProblem(schema, id));
  if (bad !== undefined) {
    throw new InvalidArgumentError(
      `--equipment-count: ${JSON.stringify(bad)} is not an equipment id of ${schema.id} (${idKind(schema)}); list them with --equipment.`,
    );
  }
  return ids;
}

/** The replay's options, as both commands take them. */
export interface ReplayOptions {
  /** --schema FILE, when given: the columns then come from the schema, --map overriding. */
  schemaFile?: string;
  map?: Record<string, string>;
  timestampColumn?: string;
  equipmentId?: EquipmentId;
  equipmentColumn?: string;
  delimiter: string;
}

/**
 * Which columns of the file hold what. Without --schema (the lab's), --map names the column of each of
 * the four features. With --schema, each feature's column is its source column or its name (--map
 * overriding), and the timestamp and equipment columns default to the schema's field names when the
 * file has such columns.
 */
export function replayMapping(file: string, schema: ReadingSchema, options: ReplayOptions): ReplayMapping {
  const { delimiter } = options;
  if (options.schemaFile === undefined) {
    const missing = schema.featureNames.filter((feature) => options.map?.[feature] === undefined);
    if (missing.length > 0) {
      throw new Error(
        `--replay needs --map with a column for each reading field: ${schema.featureNames.map((f) => `${f}=COL`).join(',')} ` +
          `(missing: ${missing.join(', ')}), or --schema FILE to map them by the schema's names`,
      );
    }
    return {
      columns: options.map as Record<string, string>,
      timestamp: options.timestampColumn,
      equipmentColumn: options.equipmentColumn,
      equipmentId: options.equipmentId,
      delimiter,
    };
  }
  const columns = schemaColumns(file, schema, {
    delimiter,
    explicit: options.map,
    schemaFile: options.schemaFile,
  });
  const header = readCsvHeader(file, delimiter);
  const equipmentColumn =
    options.equipmentColumn ??
    (options.equipmentId === undefined && header.includes(schema.equipment.field)
      ? schema.equipment.field
      : undefined);
  return {
    columns,
    timestamp:
      options.timestampColumn ??
      (header.includes(schema.timestamp.field) ? schema.timestamp.field : undefined),
    equipmentColumn,
    equipmentId: options.equipmentId,
    delimiter,
  };
}

/** The replay's pace: --speed or --rate, one of them; --speed needs timestamps. */
export function replayPace(
  mapping: ReplayMapping,
  options: { speed?: number; rate?: number; defaultRate?: number },
): ReplayPace {
  if (options.rate !== undefined && options.speed !== undefined) {
    throw new Error("--speed and --rate both set the replay's pace: give one");
  }
  if (options.rate !== undefined) return { rate: options.rate };
  if (mapping.timestamp === undefined) {
    if (options.speed === undefined && options.defaultRate !== undefined)
      return { rate: options.defaultRate };
    throw new Error(
      options.speed !== undefined
        ? '--speed follows the recorded timestamps: give --timestamp-column COL, or --rate R readings/s'
        : 'without --timestamp-column the file has no pace of its own: give --rate R (readings/s)',
    );
  }
  return { speed: options.speed ?? 1 };
}

/** The schema in a line, with units: what the generator sends, around which values. */
export function generatorSchemaLine(
  schema: ReadingSchema,
  file: string,
  equipment: readonly EquipmentId[],
): string {
  const form = { iso8601: 'ISO 8601', lab: 'YYYY-MM-DD HH:MM:SS.ffffff', 'epoch-millis': 'epoch ms' }[
    simulatedTimestampForm(schema)
  ];
  const head = `SCHEMA: ${schema.id} (${file}): ${schema.equipment.field} ${shown(equipment)}; ${schema.timestamp.field} as ${form}`;
  if (schema.isLab) {
    // The lab's own generator (stream.py's bands and anomaly odds), not base and noise.
    const units = schema.features.map((f) => (f.unit === '' ? f.label : `${f.label} (${f.unit})`));
    return `${head}; the lab's generator: ${units.join(', ')}`;
  }
  const features = simulatedFeatures(schema).map(
    ({ feature, base, noise }) =>
      `${feature.label} ${base} ± ${noise}${feature.unitSuffix}${feature.optional ? ' (optional)' : ''}`,
  );
  return `${head}; ${features.join(', ')}`;
}

/** The schema in a line, with units: which column each feature is replayed from. */
export function replaySchemaLine(source: ReplaySource, file: string): string {
  const { schema, mapping } = source.recording;
  const features = schema.features.map((feature) => {
    const column = mapping.columns[feature.name];
    const unit = feature.unit === '' ? '' : ` (${feature.unit})`;
    return column === undefined ? `${feature.name}${unit}: left out` : `${feature.name}${unit} = "${column}"`;
  });
  return `SCHEMA: ${schema.id} (${file}): ${features.join(', ')}`;
}

function shown(ids: readonly EquipmentId[]): string {
  return ids.length > 5 ? `${ids.slice(0, 5).join(', ')}, ...` : ids.join(', ');
}

/** The warning before a replay whose rows the pipeline will partly quarantine, with the schema's units. */
export function outOfRangeWarning(source: ReplaySource): string | undefined {
  const { rows, fields } = source.outOfRange;
  if (rows === 0) return undefined;
  const { schema } = source.recording;
  const details = fields.map(({ feature, column, below, above, lowest, highest }) => {
    const { min, max, unitSuffix } = schema.features.find((f) => f.name === feature) as {
      min: number;
      max: number;
      unitSuffix: string;
    };
    const counts = [below > 0 ? `${below} below ${min}` : '', above > 0 ? `${above} above ${max}` : '']
      .filter(Boolean)
      .join(', ');
    return `${feature}=${column}: ${counts} (the column goes from ${lowest} to ${highest}; ${feature} must be ${min} to ${max}${unitSuffix})`;
  });
  return (
    `WARNING: ${rows} of ${source.plannedRows} rows have values outside the pipeline's physical ranges; ` +
    `they are sent as they are and the pipeline will quarantine them. ${details.join('; ')}. ` +
    'Map each field to a column whose values lie within its range.'
  );
}

export function replayLine(source: ReplaySource, pace: ReplayPace): string {
  const { recording, plannedRows, plannedMs } = source;
  const recorded = recording.recordedMs;
  const span =
    recorded && plannedRows > 0
      ? `, recorded ${isoOf(recorded[0])} to ${isoOf(recorded[plannedRows - 1])}`
      : '';
  const equipment = [...new Set(recording.equipmentIds.slice(0, plannedRows))];
  const at = pace.speed !== undefined ? `${pace.speed}x the recorded pace` : `${pace.rate} readings/s`;
  return (
    `REPLAY: ${plannedRows} of ${recording.rows} rows of ${basename(recording.file)}${span}; ` +
    `equipment ${shown(equipment)}; at ${at}, about ${(plannedMs / 1000).toFixed(1)} s`
  );
}

export function replaySummaryLine(summary: RunSummary, source: ReplaySource): string {
  const shift = source.shiftMs();
  return (
    `DONE: ${summary.sent} readings in ${summary.records} records (${summary.malformed} outside the pipeline's ` +
    `physical ranges) in ${(summary.elapsedMs / 1000).toFixed(1)} s, ${summary.readingsPerSecond} readings/s; ` +
    `throttled ${summary.throttled} times; ${undeliveredPart(summary)}` +
    `replayed ${basename(source.recording.file)}, timestamps sent = ` +
    (shift === undefined ? 'when due' : `recorded ${formatShift(shift)}`)
  );
}

/** After a send failure, the readings it left undelivered (the error itself is printed after the summary). */
export function undeliveredPart(summary: RunSummary): string {
  return summary.undelivered > 0 ? `NOT DELIVERED: ${summary.undelivered} readings (error below); ` : '';
}

/** `+2258d 03:12:45.123`. */
export function formatShift(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  let rest = Math.abs(ms);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const clock = new Date(rest).toISOString().slice(11, 23);
  return `${sign}${days}d ${clock}`;
}
