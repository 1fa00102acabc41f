import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseReadingSchema, type ReadingSchema } from './reading-schema';

/** Reads a reading schema from a JSON or YAML file (by its extension), with errors that name the file. */
export function loadReadingSchema(path: string): ReadingSchema {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the reading schema at ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = /\.ya?ml$/i.test(path) ? parseYaml(text, { maxAliasCount: 0 }) : JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(error as Error).message}`,
    );
  }
  return parseReadingSchema(json, path);
}
