import type { ReadingSchema, TimestampForm } from '../lambdas/shared/reading-schema';
import { createTimestampFormatter } from './generator';

/**
 * How the simulator stamps a reading of a schema: the lab's `YYYY-MM-DD HH:MM:SS.ffffff` for the lab's
 * schema (as the lab sends them); for any other, ISO 8601 if the schema accepts it, else the lab's form,
 * else epoch milliseconds.
 */
export function simulatedTimestampForm(schema: ReadingSchema): TimestampForm {
  if (schema.isLab) return 'lab';
  for (const form of ['iso8601', 'lab'] as const) if (schema.timestamp.forms.includes(form)) return form;
  return 'epoch-millis';
}

export interface TimestampWriter {
  readonly form: TimestampForm;
  /** The timestamp of epoch microseconds as text (the digits of epoch ms for `epoch-millis`). */
  text(epochUs: number): string;
  /** That text as a JSON value: quoted, except epoch milliseconds (a number). */
  json(text: string): string;
}

export function createTimestampWriter(form: TimestampForm): TimestampWriter {
  const lab = createTimestampFormatter();
  switch (form) {
    case 'lab':
      return { form, text: lab, json: (text) => `"${text}"` };
    case 'iso8601':
      // `2026-11-23T19:47:09.123456Z`: the lab's text with ISO's separator and zone.
      return { form, text: (epochUs) => `${lab(epochUs).replace(' ', 'T')}Z`, json: (text) => `"${text}"` };
    case 'epoch-millis':
      return { form, text: (epochUs) => String(Math.floor(epochUs / 1000)), json: (text) => text };
  }
}
