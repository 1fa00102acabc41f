import { InvalidArgumentError } from 'commander';
import type { CsvMapping } from './csv-dataset';

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

export interface CsvOptions {
  features?: string[];
  label?: string;
  timestamp?: string;
  key?: string;
  delimiter: string;
}

export function csvMapping(options: CsvOptions, command: string): CsvMapping {
  if (!options.features)
    throw new InvalidArgumentError(`${command} needs --features with the CSV columns to use.`);
  return {
    features: options.features,
    label: options.label,
    timestamp: options.timestamp,
    key: options.key,
    delimiter: options.delimiter === '\\t' ? '\t' : options.delimiter,
  };
}

/** Prints a message and sets a failing exit code, for errors the user can fix: no stack trace. */
export function runCli(name: string, main: () => Promise<unknown>): void {
  main().catch((error: Error) => {
    console.error(`${name}: ${error.message}`);
    process.exitCode = 1;
  });
}
