import { statSync } from 'node:fs';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { readCsvDataset, readCsvHeader } from '../ml/csv-dataset';
import type { Dataset } from '../ml/dataset';
import { DEFAULT_BURST_SIZE, MAX_BURST_SIZE } from './generator';
import type { BurstSource, SourceBurst } from './run';
import { createReadingWriter, equipmentIdProblem, maxBurstSize } from './schema-generator';
import { createTimestampWriter, simulatedTimestampForm } from './timestamps';

/**
 * `--replay FILE.csv`: a recorded dataset (SKAB, say) sent as readings, one per row, through the same run
 * loop as the generator. The file is read whole with the ML commands' CSV reader (ml/csv-dataset.ts).
 *
 * Pace: each row is due at a nominal time from the start of the replay, its recorded time since the
 * first row divided by the speed (`{ speed }`), or its index divided by a rate (`{ rate }`). Records hold
 * the consecutive rows of one equipment, at most `burstSize` of them and less than MAX_RECORD_SPAN_MS of
 * nominal time apart, and a record is due when its last row is.
 *
 * Timestamps: with a timestamp column, each reading carries its recorded time plus one fixed shift, so
 * the recorded gaps are kept. The shift is the largest (floored to the millisecond) that stamps no reading
 * later than the moment it is due, which the run loop never sends it before: the pipeline's clock-skew
 * check (timestamps at most 15 minutes ahead of arrival) then accepts every reading, at any speed. At
 * speed 1 (or slower) the first reading carries the replay's start time; faster, the last one replayed
 * carries the moment it is due and the others are earlier. Without a timestamp column, a reading is
 * stamped with the moment it is due.
 *
 * Readings are of a reading schema (the lab's by default): its field names, and its features' values
 * from the columns mapped to them (schemaColumns: a feature's `source` column, else its name, unless
 * mapped explicitly); an optional feature is left out of a reading whose cell is empty, or of every
 * reading when the file has no column for it. Timestamps are written in the lab's form for the lab's
 * schema, else in ISO 8601 if the schema takes it, else the lab's form, else epoch milliseconds.
 */

/** A record is cut before a reading due this long (nominal) after its first: at 1 Hz, a record a second. */
export const MAX_RECORD_SPAN_MS = 1000;
/** The lab schema's first simulation equipment: a replay's equipment id unless told (any schema: its first). */
export const DEFAULT_REPLAY_EQUIPMENT_ID = 101;

/** Which columns of the CSV file hold what. */
export interface ReplayMapping {
  /**
   * The column of each of the schema's features, by feature name: every required feature has one; an
   * optional feature without one is left out of every reading.
   */
  columns: Record<string, string>;
  /** The column of recorded times (ISO 8601, `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC, or epoch ms). */
  timestamp?: string;
  /** A column of equipment ids; without it every row is `equipmentId`'s. */
  equipmentColumn?: string;
  /** Default: the schema's first simulation equipment (the lab's: 101). */
  equipmentId?: EquipmentId;
  /** Default `,`. */
  delimiter?: string;
}

/** A CSV file's rows, in replay order: file order, or time order across equipment with an equipment column. */
export interface Recording {
  file: string;
  mapping: ReplayMapping;
  /** The schema its readings are of. */
  schema: ReadingSchema;
  rows: number;
  /**
   * Row-major, the schema's features in order: row i's feature f is values[i * features + f]; NaN for
   * an optional feature the row leaves out.
   */
  values: Float64Array;
  equipmentIds: EquipmentId[];
  /** Recorded epoch ms of each row, non-decreasing; only with a timestamp column. */
  recordedMs?: Float64Array;
}

/**
 * The column of each of a schema's features in a CSV file: the one given for it (`explicit`, --map),
 * else its `source` column, else the column of its name (as the CSV lake writes it). A required feature
 * with none of them is an error naming what was looked for; an optional one is left out.
 */
export function schemaColumns(
  file: string,
  schema: ReadingSchema,
  options: { delimiter?: string; explicit?: Record<string, string>; schemaFile?: string } = {},
): Record<string, string> {
  checkFile(file);
  const delimiter = options.delimiter ?? ',';
  const explicit = options.explicit ?? {};
  const header = readCsvHeader(file, delimiter);
  const columns: Record<string, string> = {};
  for (const feature of schema.features) {
    const given = explicit[feature.name];
    const candidates = given !== undefined ? [given] : [...new Set([feature.source, feature.name])];
    // An unreadable header is reported by reading the file: the first candidate is then asked for.
    const found = header.length === 0 ? candidates[0] : candidates.find((c) => header.includes(c));
    if (found !== undefined) columns[feature.name] = found;
    else if (!feature.optional) {
      const wanted = candidates.map((c) => `"${c}"`).join(' or ');
      const of = ` for the feature ${feature.name}${options.schemaFile ? ` of ${options.schemaFile}` : ''}`;
      throw new Error(
        withDelimiterHint(`${file}: no column ${wanted}${of} (columns: ${header.join(', ')})`, delimiter),
      );
    }
  }
  return columns;
}

export function readRecording(file: string, mapping: ReplayMapping, schema = LAB_SCHEMA): Recording {
  checkFile(file);
  const delimiter = mapping.delimiter ?? ',';
  const unknown = Object.keys(mapping.columns).filter((name) => !schema.featureNames.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `${unknown.join(', ')}: not a feature of ${schema.id} (${schema.featureNames.join(', ')})`,
    );
  }
  const mapped = schema.features.filter((feature) => mapping.columns[feature.name] !== undefined);
  const unmapped = schema.features.filter((feature) => !feature.optional && !mapped.includes(feature));
  if (unmapped.length > 0) {
    throw new Error(
      `no column for ${unmapped.map((f) => f.name).join(', ')} (each required feature needs one)`,
    );
  }
  const columns = mapped.map((feature) => mapping.columns[feature.name]);
  const key = mapping.equipmentColumn;
  // Integer ids are read as a feature too: a cell that is not a number is then refused with its row.
  const keyAsFeature = key !== undefined && schema.equipment.type === 'integer';
  let dataset: Dataset;
  try {
    dataset = readCsvDataset(file, {
      features: keyAsFeature ? [...columns, key] : columns,
      optional: [...mapped.map((feature) => feature.optional), false],
      timestamp: mapping.timestamp,
      key,
      delimiter,
    });
  } catch (error) {
    throw new Error(withDelimiterHint((error as Error).message, delimiter));
  }
  const width = dataset.features.length;
  const equipmentOf = dataset.streams.map((stream) =>
    key ? equipmentIdOf(file, key, stream.key, schema) : checkedEquipmentId(schema, mapping.equipmentId),
  );
  // Without an equipment column there is one stream, in file order; with one, each equipment's rows are
  // in time order (csv-dataset sorts them), and the streams are merged by time, ties in stream order. A
  // stable sort of the streams laid end to end does both; without timestamps (a stream's "timestamps"
  // are then its row indexes) it takes the equipment in turn.
  const order = dataset.streams.flatMap((stream, s) =>
    Array.from(stream.timestamps, (_, i) => [s, i] as const),
  );
  if (mapping.timestamp && !key) checkTimeOrder(file, dataset.streams[0].timestamps);
  if (dataset.streams.length > 1) {
    order.sort(
      ([sa, ia], [sb, ib]) => dataset.streams[sa].timestamps[ia] - dataset.streams[sb].timestamps[ib],
    );
  }
  const rows = order.length;
  const count = schema.features.length;
  const values = new Float64Array(rows * count).fill(Number.NaN);
  const slots = mapped.map((feature) => schema.features.indexOf(feature));
  const equipmentIds = new Array<EquipmentId>(rows);
  const recordedMs = mapping.timestamp ? new Float64Array(rows) : undefined;
  order.forEach(([s, i], row) => {
    const stream = dataset.streams[s];
    for (let m = 0; m < slots.length; m++) values[row * count + slots[m]] = stream.values[i * width + m];
    equipmentIds[row] = equipmentOf[s];
    if (recordedMs) recordedMs[row] = stream.timestamps[i];
  });
  return { file, mapping, schema, rows, values, equipmentIds, recordedMs };
}

function checkFile(file: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new Error(`${file}: no such file`);
  }
  if (!isFile) throw new Error(`${file}: not a file`);
}

/** A file read with the wrong delimiter has one column whose name holds the real delimiter. */
function withDelimiterHint(message: string, delimiter: string): string {
  const listed = /\(columns: (.*)\)$/.exec(message)?.[1];
  if (!listed) return message;
  const likely = [';', '\t', '|'].find((d) => d !== delimiter && listed.includes(d));
  const shown = likely === '\t' ? '\\t' : likely;
  return likely ? `${message}; is the delimiter "${shown}"? (--delimiter '${shown}')` : message;
}

function checkTimeOrder(file: string, timestamps: Float64Array): void {
  for (let i = 1; i < timestamps.length; i++) {
    if (timestamps[i] < timestamps[i - 1]) {
      throw new Error(
        `${file}, row ${i + 2}: timestamp ${isoOf(timestamps[i])} is earlier than the row before's ` +
          `(${isoOf(timestamps[i - 1])}); a replay needs the rows in time order`,
      );
    }
  }
}

function equipmentIdOf(file: string, column: string, cell: string, schema: ReadingSchema): EquipmentId {
  const { equipment } = schema;
  const id = equipment.type === 'integer' ? Number(cell) : cell;
  if (equipmentIdProblem(schema, id)) {
    const kind =
      equipment.type === 'integer'
        ? `a whole number from ${equipment.min} to ${equipment.max}`
        : `one that matches ${equipment.pattern.source}`;
    throw new Error(`${file}: column "${column}" holds "${cell}", not an equipment id (${kind})`);
  }
  return id;
}

function checkedEquipmentId(schema: ReadingSchema, id = schema.simulationEquipment[0]): EquipmentId {
  const problem = equipmentIdProblem(schema, id);
  if (problem) throw new RangeError(`equipment id ${JSON.stringify(id)}: ${problem}`);
  return id;
}

/** `{ speed }`: that many times the recorded pace (needs timestamps); `{ rate }`: readings per second. */
export type ReplayPace = { speed: number; rate?: never } | { rate: number; speed?: never };

export interface ReplaySettings {
  pace: ReplayPace;
  /** Readings per record at most (default 1000, like the generator). */
  burstSize?: number;
  /** Replay only the first `count` rows... */
  count?: number;
  /** ...and those due within this many seconds of the start (at full pace). */
  durationSeconds?: number;
}

/** Values the pipeline will quarantine for being outside the schema's physical ranges, over the rows to replay. */
export interface OutOfRange {
  /** Rows with at least one value out of range. */
  rows: number;
  /** One per field with values out of range. */
  fields: {
    feature: string;
    column: string;
    below: number;
    above: number;
    /** The column's values over the rows to replay. */
    lowest: number;
    highest: number;
  }[];
}

export interface ReplaySource extends BurstSource {
  readonly recording: Recording;
  /** Rows that will be sent: the file's, cut by count and duration. */
  readonly plannedRows: number;
  /** When the last of them is due, from the start, at full pace. */
  readonly plannedMs: number;
  readonly outOfRange: OutOfRange;
  /** What is added to each recorded time; known once the replay has started, never without timestamps. */
  shiftMs(): number | undefined;
}

interface PlannedBurst {
  equipmentId: EquipmentId;
  rows: number[];
}

export function createReplaySource(recording: Recording, settings: ReplaySettings): ReplaySource {
  const { schema } = recording;
  const burstLimit = schema.isLab
    ? MAX_BURST_SIZE
    : maxBurstSize(schema, [...new Set(recording.equipmentIds)].slice(0, 1000));
  const burstSize = settings.burstSize ?? Math.min(DEFAULT_BURST_SIZE, burstLimit);
  if (!Number.isInteger(burstSize) || burstSize < 1 || burstSize > burstLimit) {
    throw new RangeError(
      `burstSize must be an integer from 1 to ${burstLimit}` +
        `${burstLimit < MAX_BURST_SIZE ? ` for ${schema.id} (a record stays under 1 MiB)` : ''}, got ${burstSize}`,
    );
  }
  const due = dueTimes(recording, settings.pace);
  const deadlineMs = (settings.durationSeconds ?? Number.POSITIVE_INFINITY) * 1000;
  const limit = Math.min(recording.rows, settings.count ?? Number.POSITIVE_INFINITY);
  let planned = 0;
  while (planned < limit && due[planned] < deadlineMs) planned++;
  const { values, equipmentIds, recordedMs } = recording;
  const outside = outsideRanges(recording, planned);
  const bursts = planBursts(equipmentIds, due, planned, burstSize);
  const plannedMs = planned > 0 ? due[planned - 1] : 0;
  const time = createTimestampWriter(simulatedTimestampForm(schema));
  const writer = createReadingWriter(schema, time);
  const count = schema.features.length;

  let next = 0;
  /** The nominal time that the `startMs` of the next step stands for. */
  let position = 0;
  let started = false;
  let shift: number | undefined;

  return {
    recording,
    plannedRows: planned,
    plannedMs,
    outOfRange: outside.summary,
    shiftMs: () => shift,
    fullRate: settings.pace.rate ?? (planned * 1000) / Math.max(plannedMs, 1),
    maxLagMs: () => MAX_RECORD_SPAN_MS,
    nextStep(startMs, pace, maxReadings) {
      if (!started) {
        started = true;
        if (recordedMs) shift = largestSafeShift(startMs, due, recordedMs, planned);
      }
      if (next >= bursts.length || maxReadings < 1) return { bursts: [], endMs: startMs };
      const { equipmentId, rows: all } = bursts[next++];
      const rows = all.length > maxReadings ? all.slice(0, maxReadings) : all;
      const releaseDue = due[rows[rows.length - 1]];
      const endMs = startMs + (releaseDue - position) / pace;
      position = releaseDue;
      const parts = rows.map((row) => {
        const stampMs =
          recordedMs && shift !== undefined
            ? recordedMs[row] + shift
            : endMs - (releaseDue - due[row]) / pace;
        return writer.reading(equipmentId, time.text(Math.floor(stampMs * 1000)), values, row * count);
      });
      const burst: SourceBurst = {
        equipmentId,
        json: `[${parts.join(',')}]`,
        readings: rows.length,
        endMs,
        malformedReadings: rows.reduce((n, row) => n + outside.flags[row], 0),
        anomalousReadings: 0,
      };
      return { bursts: [burst], endMs };
    },
  };
}

/** Each row's nominal due time, in ms from the start of the replay. */
function dueTimes(recording: Recording, pace: ReplayPace): Float64Array {
  const due = new Float64Array(recording.rows);
  if (pace.speed !== undefined) {
    if (!(pace.speed > 0 && Number.isFinite(pace.speed))) {
      throw new RangeError(`speed must be a positive number, got ${pace.speed}`);
    }
    const recorded = recording.recordedMs;
    if (!recorded) {
      throw new Error(
        "replaying at the recording's own pace needs its timestamps: map a timestamp column, or give a rate",
      );
    }
    for (let i = 0; i < due.length; i++) due[i] = (recorded[i] - recorded[0]) / pace.speed;
  } else {
    if (!(pace.rate > 0 && Number.isFinite(pace.rate))) {
      throw new RangeError(`rate must be a positive number, got ${pace.rate}`);
    }
    for (let i = 0; i < due.length; i++) due[i] = (i * 1000) / pace.rate;
  }
  return due;
}

/** The consecutive rows of each equipment, cut at `burstSize` rows or MAX_RECORD_SPAN_MS, in order due. */
function planBursts(
  equipmentIds: readonly EquipmentId[],
  due: Float64Array,
  rows: number,
  burstSize: number,
) {
  const open = new Map<EquipmentId, PlannedBurst & { firstDue: number }>();
  const bursts: PlannedBurst[] = [];
  for (let row = 0; row < rows; row++) {
    const equipmentId = equipmentIds[row];
    let burst = open.get(equipmentId);
    if (burst && (burst.rows.length >= burstSize || due[row] - burst.firstDue >= MAX_RECORD_SPAN_MS)) {
      bursts.push(burst);
      burst = undefined;
    }
    if (!burst) {
      burst = { equipmentId, rows: [], firstDue: due[row] };
      open.set(equipmentId, burst);
    }
    burst.rows.push(row);
  }
  bursts.push(...open.values());
  const releaseOf = (burst: PlannedBurst) => due[burst.rows[burst.rows.length - 1]];
  return bursts.sort((a, b) => releaseOf(a) - releaseOf(b) || a.rows[0] - b.rows[0]);
}

/** The largest whole-ms shift that stamps no reading later than the moment it is due. */
function largestSafeShift(
  startMs: number,
  due: Float64Array,
  recordedMs: Float64Array,
  rows: number,
): number {
  let shift = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rows; i++) shift = Math.min(shift, startMs + due[i] - recordedMs[i]);
  return Math.floor(shift);
}

function outsideRanges(recording: Recording, rows: number): { flags: Uint8Array; summary: OutOfRange } {
  const { features } = recording.schema;
  const flags = new Uint8Array(rows);
  const fields = features.map((feature) => ({
    feature: feature.name,
    column: recording.mapping.columns[feature.name],
    below: 0,
    above: 0,
    lowest: Number.POSITIVE_INFINITY,
    highest: Number.NEGATIVE_INFINITY,
  }));
  for (let row = 0; row < rows; row++) {
    for (let f = 0; f < features.length; f++) {
      const value = recording.values[row * features.length + f];
      // An optional feature the row leaves out is not sent.
      if (Number.isNaN(value)) continue;
      const { min, max } = features[f];
      const field = fields[f];
      field.lowest = Math.min(field.lowest, value);
      field.highest = Math.max(field.highest, value);
      if (value < min) field.below++;
      else if (value > max) field.above++;
      else continue;
      flags[row] = 1;
    }
  }
  return {
    flags,
    summary: {
      rows: flags.reduce((n, flag) => n + flag, 0),
      fields: fields.filter((field) => field.below + field.above > 0),
    },
  };
}

export function isoOf(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? String(epochMs) : date.toISOString();
}
