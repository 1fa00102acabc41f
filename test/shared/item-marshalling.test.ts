import { marshall } from '@aws-sdk/util-dynamodb';
import { marshallItem } from '../../lambdas/shared/aws/item-marshalling';
import { buildDocuments } from '../../lambdas/shared/documents';
import { windowContributions } from '../../lambdas/shared/minute-windows';
import { processRecord, SOURCE, simulatorReadings } from './fixtures';

describe('marshallItem', () => {
  const processed = processRecord([
    ...simulatorReadings(700, { equipmentId: 101, startMs: Date.UTC(2026, 10, 23, 19, 46, 30), seed: 3 }),
    ...simulatorReadings(300, { equipmentId: 102, startMs: Date.UTC(2026, 10, 23, 19, 46, 50), seed: 4 }),
  ]);

  it('gives what the SDK marshall gives for the transform’s documents', () => {
    const documents = buildDocuments(SOURCE, processed);
    expect(documents.length).toBeGreaterThan(2);
    for (const document of documents) {
      expect(marshallItem(document)).toEqual(marshall(document, { removeUndefinedValues: true }));
    }
  });

  it('gives what the SDK marshall gives for window contributions, late-only windows included', () => {
    const windows = [
      ...windowContributions(SOURCE, processed, 120_000, 86_400),
      ...windowContributions(
        { ...SOURCE, arrivalMs: SOURCE.arrivalMs + 3_600_000 },
        processed,
        1_000,
        86_400,
      ),
    ];
    expect(windows.some((w) => w.mins.length === 0)).toBe(true);
    for (const window of windows) {
      expect(marshallItem(window)).toEqual(marshall(window, { removeUndefinedValues: true }));
    }
  });

  it('maps every JSON-like type as the SDK does, leaving out undefined attributes', () => {
    const item = {
      s: 'text',
      empty: '',
      n: 1.5,
      negative: -42,
      yes: true,
      nothing: null,
      skipped: undefined,
      list: [1, 'a', false, null, [2], { k: 3 }],
      map: { nested: { deeper: [0.25] }, gone: undefined },
    };
    expect(marshallItem(item)).toEqual(marshall(item, { removeUndefinedValues: true }));
    expect(marshallItem(item)).not.toHaveProperty('skipped');
  });

  it('refuses what DynamoDB cannot store rather than writing something else', () => {
    expect(() => marshallItem({ x: Number.NaN })).toThrow('x: DynamoDB cannot store the number NaN');
    expect(() => marshallItem({ x: [Number.POSITIVE_INFINITY] })).toThrow(/cannot store the number Infinity/);
    expect(() => marshallItem({ big: 2 ** 60 })).toThrow(/beyond JavaScript's precise integers/);
    expect(() => marshallItem({ when: new Date(0) })).toThrow(/when: cannot store \[object Date\]/);
  });
});
