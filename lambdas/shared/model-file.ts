import { readFileSync } from 'node:fs';
import { type DetectorModel, parseDetectorModel } from './detector';

/** Reads and validates a model artifact from disk. */
export function loadModelFile(path: string): DetectorModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the detector model at ${path}: ${(error as Error).message}`);
  }
  try {
    return parseDetectorModel(JSON.parse(text));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}
