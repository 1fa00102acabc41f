import { InvalidArgumentError } from 'commander';
import type { ValueLimits } from '../lambdas/shared/detector';
import type { ReadingSchema, SchemaFeature } from '../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { type CsvMapping, readCsvHeader } from './csv-dataset';

/** Parsers and shared option handling of the ML commands (train, evaluate, score). */
export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return n;
};

export const integer = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer.`);
  return n;
};

export const columnList = (name: string) => (value: string) => {
  const columns = value.split(',').map((c) => c.trim());
  if (columns.some((c) => c === ''))
    throw new InvalidArgumentError(`${name} takes column names separated by commas.`);
  return columns;
};

/** A delimiter as written on a command line: `\t` is a tab. */
const delimiterOf = (delimiter: string) => (delimiter === '\\t' ? '\t' : delimiter);

export interface CsvOptions {
  features?: string[];
  label?: string;
  timestamp?: string;
  key?: string;
  delimiter: string;
  /** A reading schema file: the features (unless --features), their labels, units and limits. */
  schema?: string;
}

export function csvMapping(options: CsvOptions, command: string): CsvMapping {
  if (!options.features)
    throw new InvalidArgumentError(
      `${command} needs --features with the CSV columns to use (or --schema FILE for a reading schema's).`,
    );
  return {
    features: options.features,
    label: options.label,
    timestamp: options.timestamp,
    key: options.key,
    delimiter: delimiterOf(options.delimiter),
  };
}

/** A CSV's columns read under a reading schema, and what the detector takes from it. */
export interface SchemaCsv {
  mapping: CsvMapping;
  schema: ReadingSchema;
  /** The schema's feature of each of the mapping's features; undefined for a column that is none. */
  features: (SchemaFeature | undefined)[];
}

/**
 * The columns of CSV files read under a reading schema (`--schema FILE`). Without --features, the
 * features are the schema's, each read from the column named by its `source` (or, when a file has no
 * such column, by its name, as the CSV lake writes it), and called by its name. With --features, each
 * entry that is a schema feature's name or source is that feature (read the same way); any other is a
 * column read as it is. --timestamp and --key, when not given, are the schema's timestamp and equipment
 * fields if every file has a column of that name (`defaultKey: false` for commands of one stream).
 */
export function schemaCsvMapping(
  options: CsvOptions,
  files: readonly string[],
  { defaultKey = true }: { defaultKey?: boolean } = {},
): SchemaCsv {
  if (!options.schema) throw new Error('no reading schema given');
  const schema = loadReadingSchema(options.schema);
  const delimiter = delimiterOf(options.delimiter);
  const headers = files.map((file) => readCsvHeader(file, delimiter));
  const everyFileHas = (column: string) =>
    headers.length > 0 && headers.every((header) => header.includes(column));
  const features: (SchemaFeature | undefined)[] = options.features
    ? options.features.map(
        (entry) =>
          schema.features.find((f) => f.name === entry) ?? schema.features.find((f) => f.source === entry),
      )
    : [...schema.features];
  const names = features.map((f, i) => f?.name ?? (options.features as string[])[i]);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new InvalidArgumentError(`--features names ${duplicate} twice.`);
  return {
    schema,
    features,
    mapping: {
      features: names,
      columns: features.map((f, i) => (f ? [...new Set([f.source, f.name])] : [names[i]])),
      columnsFrom: options.schema,
      optional: features.map((f) => f?.optional ?? false),
      label: options.label,
      timestamp:
        options.timestamp ?? (everyFileHas(schema.timestamp.field) ? schema.timestamp.field : undefined),
      key:
        options.key ??
        (defaultKey && everyFileHas(schema.equipment.field) ? schema.equipment.field : undefined),
      delimiter,
    },
  };
}

/**
 * What the detector takes from the schema for these features: labels and units for reasons, and the
 * schema's absolute limits, overridden feature by feature by `limits` (written by a feature's name,
 * or by its source column).
 */
export function schemaDetectorConfig(
  { schema, features, mapping }: SchemaCsv,
  limits: Record<string, ValueLimits> = {},
): { labels: string[]; units: string[]; limits: Record<string, ValueLimits> } {
  const merged: Record<string, ValueLimits> = {};
  for (const f of features) if (f?.limits) merged[f.name] = f.limits;
  for (const [name, limit] of Object.entries(limits)) {
    const byName = mapping.features.includes(name)
      ? undefined
      : schema.features.find((f) => f.source === name);
    merged[byName?.name ?? name] = limit;
  }
  return {
    labels: features.map((f, i) => f?.label ?? mapping.features[i]),
    units: features.map((f) => f?.unitSuffix ?? ''),
    limits: merged,
  };
}

/** Prints a message and sets a failing exit code, for errors the user can fix: no stack trace. */
export function runCli(name: string, main: () => Promise<unknown>): void {
  main().catch((error: Error) => {
    console.error(`${name}: ${error.message}`);
    process.exitCode = 1;
  });
}
