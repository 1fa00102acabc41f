import { statSync } from 'node:fs';
import { FEATURES, type Feature } from '../lambdas/shared/features';
import { PHYSICAL_RANGES } from '../lambdas/shared/reading';
import { readCsvDataset } from '../ml/csv-dataset';
import type { Dataset } from '../ml/dataset';
import { createTimestampFormatter, DEFAULT_BURST_SIZE, MAX_BURST_SIZE } from './generator';
import type { BurstSource, SourceBurst } from './run';

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
 */

/** A record is cut before a reading due this long (nominal) after its first: at 1 Hz, a record a second. */
export const MAX_RECORD_SPAN_MS = 1000;
export const DEFAULT_REPLAY_EQUIPMENT_ID = 101;
const MAX_EQUIPMENT_ID = 2_147_483_647;

/** Which columns of the CSV file hold what. */
export interface ReplayMapping {
  /** The column of each reading field. */
  columns: Record<Feature, string>;
  /** The column of recorded times (ISO 8601, `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC, or epoch ms). */
  timestamp?: string;
  /** A column of equipment ids; without it every row is `equipmentId`'s. */
  equipmentColumn?: string;
  equipmentId?: number;
  /** Default `,`. */
  delimiter?: string;
}

/** A CSV file's rows, in replay order: file order, or time order across equipment with an equipment column. */
export interface Recording {
  file: string;
  mapping: ReplayMapping;
  rows: number;
  /** Row-major, FEATURES order: row i's feature f is values[i * 4 + f]. */
  values: Float64Array;
  equipmentIds: Int32Array;
  /** Recorded epoch ms of each row, non-decreasing; only with a timestamp column. */
  recordedMs?: Float64Array;
}

export function readRecording(file: string, mapping: ReplayMapping): Recording {
  checkFile(file);
  const delimiter = mapping.delimiter ?? ',';
  const columns = FEATURES.map((feature) => mapping.columns[feature]);
  const key = mapping.equipmentColumn;
  let dataset: Dataset;
  try {
    // The equipment column is read as a feature too: a cell that is not a number is then refused with its row.
    dataset = readCsvDataset(file, {
      features: key ? [...columns, key] : columns,
      timestamp: mapping.timestamp,
      key,
      delimiter,
    });
  } catch (error) {
    throw new Error(withDelimiterHint((error as Error).message, delimiter));
  }
  const width = dataset.features.length;
  const equipmentOf = dataset.streams.map((stream) =>
    key ? equipmentIdOf(file, key, stream.key) : checkedEquipmentId(mapping.equipmentId),
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
  const values = new Float64Array(rows * FEATURES.length);
  const equipmentIds = new Int32Array(rows);
  const recordedMs = mapping.timestamp ? new Float64Array(rows) : undefined;
  order.forEach(([s, i], row) => {
    const stream = dataset.streams[s];
    for (let f = 0; f < FEATURES.length; f++)
      values[row * FEATURES.length + f] = stream.values[i * width + f];
    equipmentIds[row] = equipmentOf[s];
    if (recordedMs) recordedMs[row] = stream.timestamps[i];
  });
  return { file, mapping, rows, values, equipmentIds, recordedMs };
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

function equipmentIdOf(file: string, column: string, cell: string): number {
  const id = Number(cell);
  if (!Number.isInteger(id) || id < 1 || id > MAX_EQUIPMENT_ID) {
    throw new Error(
      `${file}: column "${column}" holds "${cell}", not an equipment id (a whole number from 1 to ${MAX_EQUIPMENT_ID})`,
    );
  }
  return id;
}

function checkedEquipmentId(id = DEFAULT_REPLAY_EQUIPMENT_ID): number {
  if (!Number.isInteger(id) || id < 1 || id > MAX_EQUIPMENT_ID) {
    throw new RangeError(`equipment id must be a whole number from 1 to ${MAX_EQUIPMENT_ID}, got ${id}`);
  }
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

/** Values the pipeline will quarantine for being outside PHYSICAL_RANGES, over the rows to replay. */
export interface OutOfRange {
  /** Rows with at least one value out of range. */
  rows: number;
  /** One per field with values out of range. */
  fields: {
    feature: Feature;
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
  equipmentId: number;
  rows: number[];
}

export function createReplaySource(recording: Recording, settings: ReplaySettings): ReplaySource {
  const burstSize = settings.burstSize ?? DEFAULT_BURST_SIZE;
  if (!Number.isInteger(burstSize) || burstSize < 1 || burstSize > MAX_BURST_SIZE) {
    throw new RangeError(`burstSize must be an integer from 1 to ${MAX_BURST_SIZE}, got ${burstSize}`);
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
  const formatTimestamp = createTimestampFormatter();

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
        const v = row * FEATURES.length;
        return (
          `{"timestamp":"${formatTimestamp(Math.floor(stampMs * 1000))}","equipment_id":${equipmentId},` +
          `"vibration_amplitude":${values[v]},"vibration_frequency":${values[v + 1]},` +
          `"temperature":${values[v + 2]},"humidity":${values[v + 3]}}`
        );
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
function planBursts(equipmentIds: Int32Array, due: Float64Array, rows: number, burstSize: number) {
  const open = new Map<number, PlannedBurst & { firstDue: number }>();
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
  const flags = new Uint8Array(rows);
  const fields = FEATURES.map((feature) => ({
    feature,
    column: recording.mapping.columns[feature],
    below: 0,
    above: 0,
    lowest: Number.POSITIVE_INFINITY,
    highest: Number.NEGATIVE_INFINITY,
  }));
  for (let row = 0; row < rows; row++) {
    for (let f = 0; f < FEATURES.length; f++) {
      const value = recording.values[row * FEATURES.length + f];
      const { min, max } = PHYSICAL_RANGES[FEATURES[f]];
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
