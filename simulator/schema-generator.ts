import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import type { EquipmentId } from '../lambdas/shared/reading';
import type { ReadingSchema, SchemaFeature } from '../lambdas/shared/reading-schema';
import { DEFAULT_BURST_SIZE, MAX_BURST_SIZE, pickMalformed, seededRng } from './generator';
import { createTimestampWriter, simulatedTimestampForm, type TimestampWriter } from './timestamps';

/**
 * The simulator's generator for any reading schema but the lab's (whose own generator, generator.ts,
 * keeps the lab's exact behaviour), seeded. Like the lab's it runs in steps, a step one burst per
 * equipment, each burst one Kinesis record (a JSON array of readings) keyed by equipment id.
 *
 * Per equipment and feature, a value is the feature's `simulation.base` plus Gaussian noise of standard
 * deviation `simulation.noise` (without hints: the middle of the physical range, and 1% of it), rounded
 * to a precision that keeps the noise visible, and clamped into the physical range. Anomalies come in
 * episodes, as in the lab: after an equipment's first burst (the detector's first impression is a
 * normal one), each normal feature starts an episode with odds EPISODE_ODDS / features per burst; an
 * episode shifts the feature by EPISODE_SHIFT noise units (its direction the one with room in the
 * physical range) for EPISODE_BURSTS bursts, followed by at least one normal burst. An optional feature
 * is left out of a reading with odds OPTIONAL_LEFT_OUT_ODDS.
 *
 * Readings carry the schema's field names; timestamps are ISO 8601 if the schema accepts it, else the
 * lab's form, else epoch milliseconds, spaced evenly at the rate. `badRatio` replaces readings with
 * malformed ones of SCHEMA_MALFORMED_KINDS, each one that the schema's validator rejects.
 */

/** The odds, per burst and equipment, that some feature starts an anomalous episode (the lab's are 0.036). */
export const EPISODE_ODDS = 0.04;
export const EPISODE_BURSTS = 10;
/** An episode's shift, in noise units, drawn uniformly from this range. */
export const EPISODE_SHIFT = { low: 5, high: 9 } as const;
export const OPTIONAL_LEFT_OUT_ODDS = 0.02;

/** Reading-level faults for any schema; each keeps the record valid JSON and is rejected by the validator. */
export const SCHEMA_MALFORMED_KINDS = [
  'numeric-string',
  'missing-field',
  'nan',
  'below-minimum',
  'above-maximum',
  'unknown-field',
  'bad-timestamp',
  'wrong-type',
  'bad-equipment',
] as const;
export type SchemaMalformedKind = (typeof SCHEMA_MALFORMED_KINDS)[number];

/** Kinesis takes at most 1 MiB per record; a burst's readings, malformed or not, stay under this. */
const MAX_RECORD_DATA_BYTES = 1_000_000;

export interface SchemaGeneratorOptions {
  schema: ReadingSchema;
  seed: number;
  /** Default: the schema's simulation equipment. */
  equipment?: readonly EquipmentId[];
  /** Default: 1000, or fewer when the schema's readings are large (see maxBurstSize). */
  burstSize?: number;
  badRatio?: number;
}

export interface SchemaBurst {
  equipmentId: EquipmentId;
  /** Features anomalous during this whole burst: bit f (2 ** f) for the schema's feature f. */
  anomalyMask: number;
  /** The record's data: a JSON array of the readings. */
  json: string;
  readings: number;
  /** Each reading's timestamp as sent (for epoch milliseconds, the number's digits). */
  timestamps: string[];
  /** Generated values, the schema's feature order, one per feature and reading; NaN for one left out. */
  values: Float64Array;
  /** Readings replaced by malformed ones, by ascending index. */
  malformed: { index: number; kind: SchemaMalformedKind }[];
  /** When the next reading would be taken (epoch ms, fractional): the burst is complete by then. */
  endMs: number;
}

export interface SchemaStep {
  startMs: number;
  endMs: number;
  bursts: SchemaBurst[];
}

export interface SchemaGenerator {
  /** As the lab generator's: the next step from `startMs` at `readingsPerSecond`, at most `maxReadings`. */
  nextStep(startMs: number, readingsPerSecond: number, maxReadings?: number): SchemaStep;
}

/** A feature's simulation: its typical value, noise, and how its values are written. */
export interface SimulatedFeature {
  feature: SchemaFeature;
  base: number;
  noise: number;
  /** The unit an episode shifts by: the noise, or 1% of the range for a noiseless feature. */
  spread: number;
  decimals: number;
}

export function simulatedFeatures(schema: ReadingSchema): SimulatedFeature[] {
  return schema.features.map((feature) => {
    const range = feature.max - feature.min;
    const base = clamp(feature.simulation?.base ?? feature.min + range / 2, feature);
    const noise = feature.simulation?.noise ?? range / 100;
    const spread = noise > 0 ? noise : range / 100;
    const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(spread)) + 2));
    return { feature, base, noise, spread, decimals };
  });
}

/** The largest burst whose record stays under Kinesis's 1 MiB, even with every reading malformed. */
export function maxBurstSize(schema: ReadingSchema, equipment: readonly EquipmentId[] = []): number {
  const id = Math.max(24, ...equipment.map((e) => JSON.stringify(e).length));
  // Each field: its quoted name, a colon, a comma and a value of at most 26 characters (a number's
  // longest text, quoted or in brackets); the timestamp at most 32; an unknown field 40 more.
  const fields = [schema.timestamp.field, schema.equipment.field, ...schema.featureNames];
  const bytes = fields.reduce(
    (n, name) => n + Buffer.byteLength(JSON.stringify(name)) + 28,
    2 + id + 32 + 40,
  );
  return Math.max(1, Math.min(MAX_BURST_SIZE, Math.floor(MAX_RECORD_DATA_BYTES / bytes)));
}

export function createSchemaGenerator(options: SchemaGeneratorOptions): SchemaGenerator {
  const { schema, seed, badRatio = 0 } = options;
  const equipment = options.equipment ?? schema.simulationEquipment;
  const burstLimit = maxBurstSize(schema, equipment);
  const burstSize = options.burstSize ?? Math.min(DEFAULT_BURST_SIZE, burstLimit);
  checkOptions(schema, seed, equipment, burstSize, burstLimit, badRatio);
  const features = simulatedFeatures(schema);
  const count = features.length;
  const valuesRng = seededRng(seed);
  // An independent stream, so the bad-ratio never changes the values of the readings it keeps.
  const faultsRng = valuesRng.clone();
  faultsRng.jump();
  /** Per equipment and feature: 0 normal, 1..EPISODE_BURSTS the burst of an episode. */
  const flags = new Int32Array(equipment.length * count);
  /** Per equipment and feature: the current episode's shift (signed, in value units). */
  const shifts = new Float64Array(equipment.length * count);
  const burstsOf = new Int32Array(equipment.length);
  const time = createTimestampWriter(simulatedTimestampForm(schema));
  const writer = createReadingWriter(schema, time);
  let readingsSoFar = 0;

  function nextStep(startMs: number, readingsPerSecond: number, maxReadings = Number.POSITIVE_INFINITY) {
    if (!(readingsPerSecond > 0)) throw new RangeError('readingsPerSecond must be positive');
    const intervalUs = 1e6 / readingsPerSecond;
    const startUs = startMs * 1000;
    const bursts: SchemaBurst[] = [];
    let readingIndex = 0;
    for (let e = 0; e < equipment.length && readingIndex < maxReadings; e++) {
      const readings = Math.min(burstSize, maxReadings - readingIndex);
      const anomalyMask = advanceEpisodes(e);
      const values = drawValues(readings, e);
      const timestamps = new Array<string>(readings);
      for (let i = 0; i < readings; i++) {
        timestamps[i] = time.text(Math.floor(startUs + (readingIndex + i) * intervalUs));
      }
      const malformed = pickMalformed(faultsRng, readings, readingsSoFar, badRatio, SCHEMA_MALFORMED_KINDS);
      readingsSoFar += readings;
      readingIndex += readings;
      bursts.push({
        equipmentId: equipment[e],
        anomalyMask,
        json: writer.burst(equipment[e], timestamps, values, malformed),
        readings,
        timestamps,
        values,
        malformed,
        endMs: (startUs + readingIndex * intervalUs) / 1000,
      });
    }
    return { startMs, endMs: (startUs + readingIndex * intervalUs) / 1000, bursts };
  }

  function advanceEpisodes(e: number): number {
    const first = burstsOf[e]++ === 0;
    let mask = 0;
    for (let f = 0, at = e * count; f < count; f++, at++) {
      const flag = flags[at];
      if (flag === 0) {
        if (!first && uniformFloat64(valuesRng) < EPISODE_ODDS / count) {
          flags[at] = 1;
          shifts[at] = episodeShift(features[f], valuesRng);
        }
      } else {
        flags[at] = flag >= EPISODE_BURSTS ? 0 : flag + 1;
      }
      if (flags[at] > 0) mask += 2 ** f;
    }
    return mask;
  }

  function drawValues(readings: number, e: number): Float64Array {
    const values = new Float64Array(readings * count);
    for (let i = 0, v = 0; i < readings; i++) {
      for (let f = 0; f < count; f++, v++) {
        const { feature, base, noise, decimals } = features[f];
        const at = e * count + f;
        const value = base + (flags[at] > 0 ? shifts[at] : 0) + noise * gaussian(valuesRng);
        values[v] = clamp(round(value, decimals), feature);
        if (feature.optional && uniformFloat64(valuesRng) < OPTIONAL_LEFT_OUT_ODDS) values[v] = Number.NaN;
      }
    }
    return values;
  }

  return { nextStep };
}

function checkOptions(
  schema: ReadingSchema,
  seed: number,
  equipment: readonly EquipmentId[],
  burstSize: number,
  burstLimit: number,
  badRatio: number,
): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`seed must be an integer from 0 to ${0xffff_ffff}, got ${seed}`);
  }
  if (equipment.length === 0) throw new RangeError('equipment must be a non-empty list of ids');
  for (const id of equipment) {
    const problem = equipmentIdProblem(schema, id);
    if (problem) throw new RangeError(`equipment ${JSON.stringify(id)}: ${problem}`);
  }
  if (!Number.isInteger(burstSize) || burstSize < 1 || burstSize > burstLimit) {
    throw new RangeError(
      `burstSize must be an integer from 1 to ${burstLimit}` +
        `${burstLimit < MAX_BURST_SIZE ? ` for ${schema.id} (a record stays under 1 MiB)` : ''}, got ${burstSize}`,
    );
  }
  if (!(badRatio >= 0 && badRatio <= 1)) throw new RangeError(`badRatio must be in [0, 1], got ${badRatio}`);
}

/** Why an id is not one of the schema's equipment ids; undefined when it is. */
export function equipmentIdProblem(schema: ReadingSchema, id: EquipmentId): string | undefined {
  const equipment = schema.equipment;
  if (equipment.type === 'integer') {
    return typeof id === 'number' && Number.isInteger(id) && id >= equipment.min && id <= equipment.max
      ? undefined
      : `${schema.id} takes equipment ids that are whole numbers from ${equipment.min} to ${equipment.max}`;
  }
  return typeof id === 'string' && equipment.pattern.test(id)
    ? undefined
    : `${schema.id} takes equipment ids that match ${equipment.pattern.source}`;
}

function clamp(value: number, feature: SchemaFeature): number {
  return value < feature.min ? feature.min : value > feature.max ? feature.max : value;
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** A standard normal draw (Box-Muller; the first uniform kept off 0). */
function gaussian(rng: RandomGenerator): number {
  const u = 1 - uniformFloat64(rng);
  const v = uniformFloat64(rng);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** An episode's shift: several noise units, up or down at random, towards the side with room for it. */
function episodeShift(simulated: SimulatedFeature, rng: RandomGenerator): number {
  const { feature, base, spread } = simulated;
  const size = (EPISODE_SHIFT.low + (EPISODE_SHIFT.high - EPISODE_SHIFT.low) * uniformFloat64(rng)) * spread;
  const roomUp = feature.max - base >= size;
  const roomDown = base - feature.min >= size;
  let up = uniformFloat64(rng) < 0.5;
  if (roomUp !== roomDown) up = roomUp;
  else if (!roomUp) up = feature.max - base >= base - feature.min;
  return up ? size : -size;
}

/** Writes readings of a schema as JSON text: its field names, values, and the malformed kinds. */
export interface ReadingWriter {
  /** One reading; a NaN value is an optional feature left out. */
  reading(equipmentId: EquipmentId, timestamp: string, values: ArrayLike<number>, offset: number): string;
  burst(
    equipmentId: EquipmentId,
    timestamps: readonly string[],
    values: Float64Array,
    malformed: readonly { index: number; kind: SchemaMalformedKind }[],
  ): string;
}

export function createReadingWriter(schema: ReadingSchema, time: TimestampWriter): ReadingWriter {
  const count = schema.features.length;
  const keys = schema.featureNames.map((name) => `,${JSON.stringify(name)}:`);
  const timestampKey = `{${JSON.stringify(schema.timestamp.field)}:`;
  const equipmentKey = `,${JSON.stringify(schema.equipment.field)}:`;
  const ids = new Map<EquipmentId, string>();
  const idJson = (id: EquipmentId) => {
    let text = ids.get(id);
    if (text === undefined) {
      text = JSON.stringify(id);
      ids.set(id, text);
    }
    return text;
  };
  const malformed = malformedWriter(schema, time);

  function reading(equipmentId: EquipmentId, timestamp: string, values: ArrayLike<number>, offset: number) {
    let text = `${timestampKey}${time.json(timestamp)}${equipmentKey}${idJson(equipmentId)}`;
    for (let f = 0; f < count; f++) {
      const value = values[offset + f];
      if (!Number.isNaN(value)) text += `${keys[f]}${value}`;
    }
    return `${text}}`;
  }

  return {
    reading,
    burst(equipmentId, timestamps, values, bad) {
      const parts = new Array<string>(timestamps.length);
      let nextBad = 0;
      for (let i = 0; i < timestamps.length; i++) {
        if (nextBad < bad.length && bad[nextBad].index === i) {
          parts[i] = malformed(bad[nextBad++].kind, equipmentId, timestamps[i], values, i * count);
        } else {
          parts[i] = reading(equipmentId, timestamps[i], values, i * count);
        }
      }
      return `[${parts.join(',')}]`;
    },
  };
}

/** Writes one malformed reading of each kind so that the schema's validator rejects it. */
function malformedWriter(schema: ReadingSchema, time: TimestampWriter) {
  const { features } = schema;
  const required = features.filter((f) => !f.optional);
  // Value faults go to a required feature when there is one; a missing field is the last required one
  // (as the lab's is humidity), or the equipment field when every feature is optional.
  const target = required[0] ?? features[0];
  const missing = required.length > 0 ? required[required.length - 1].name : schema.equipment.field;
  const last = features[features.length - 1];
  const fields = new Set([schema.timestamp.field, schema.equipment.field, ...schema.featureNames]);
  let unknown = 'pressure';
  for (let n = 2; fields.has(unknown); n++) unknown = n === 2 ? 'unexpected_field' : `unexpected_field_${n}`;
  const badEquipment = badEquipmentJson(schema);
  const spanOf = (f: SchemaFeature) => Math.max(1, f.max - f.min);

  return (
    kind: SchemaMalformedKind,
    equipmentId: EquipmentId,
    timestamp: string,
    values: Float64Array,
    offset: number,
  ): string => {
    const entries: [string, string][] = [
      [schema.timestamp.field, time.json(timestamp)],
      [schema.equipment.field, JSON.stringify(equipmentId)],
    ];
    features.forEach((feature, f) => {
      const value = values[offset + f];
      if (!Number.isNaN(value)) entries.push([feature.name, String(value)]);
    });
    const sentValue = (feature: SchemaFeature) => {
      const value = values[offset + features.indexOf(feature)];
      return Number.isNaN(value) ? simulatedBase(feature) : value;
    };
    const set = (name: string, text: string) => {
      const entry = entries.find(([key]) => key === name);
      if (entry) entry[1] = text;
      else entries.push([name, text]);
    };
    switch (kind) {
      case 'numeric-string':
        set(target.name, `"${sentValue(target)}"`);
        break;
      case 'missing-field':
        entries.splice(
          entries.findIndex(([key]) => key === missing),
          1,
        );
        break;
      case 'nan':
        // The bare token Python's json module writes; the pipeline reads it and rejects the reading.
        set(target.name, 'NaN');
        break;
      case 'below-minimum':
        set(target.name, String(target.min - spanOf(target)));
        break;
      case 'above-maximum':
        set(last.name, String(last.max + spanOf(last)));
        break;
      case 'unknown-field':
        set(unknown, '101.3');
        break;
      case 'bad-timestamp':
        set(schema.timestamp.field, badTimestamp(timestamp, time));
        break;
      case 'wrong-type':
        set(target.name, `[${sentValue(target)}]`);
        break;
      case 'bad-equipment':
        set(schema.equipment.field, badEquipment);
        break;
    }
    return `{${entries.map(([key, text]) => `${JSON.stringify(key)}:${text}`).join(',')}}`;
  };
}

function simulatedBase(feature: SchemaFeature): number {
  return feature.simulation?.base ?? feature.min + (feature.max - feature.min) / 2;
}

/** Month 13 for a date-time text; epoch seconds where milliseconds are expected (before 2000) for a number. */
function badTimestamp(timestamp: string, time: TimestampWriter): string {
  if (time.form === 'epoch-millis') return String(Math.floor(Number(timestamp) / 1000));
  return time.json(`${timestamp.slice(0, 5)}13${timestamp.slice(7)}`);
}

/** An id of the wrong kind: integer ids as a string (a common producer bug); a string the pattern refuses (or a number). */
function badEquipmentJson(schema: ReadingSchema): string {
  const equipment = schema.equipment;
  if (equipment.type === 'integer') return `"${equipment.min}"`;
  const refused = ['', 'bad id!', ' ', '#'].find((id) => !equipment.pattern.test(id));
  return refused === undefined ? '0' : JSON.stringify(refused);
}
