import { perReadingAnomaly, trainPerReadingModel } from '../../ml/baseline';
import type { Dataset } from '../../ml/dataset';
import { count, delays, emptyConfusion, quality } from '../../ml/metrics';

describe('evaluation metrics', () => {
  test('precision, recall, F1, FAR and MAR of a hand-made labelled set', () => {
    const truth = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    const flags = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0];
    const confusion = emptyConfusion();
    truth.forEach((t, i) => {
      count(confusion, t === 1, flags[i] === 1);
    });

    expect(confusion).toEqual({ tp: 3, fn: 1, fp: 1, tn: 5 });
    const q = quality(confusion);
    expect(q.precision).toBeCloseTo(0.75);
    expect(q.recall).toBeCloseTo(0.75);
    // SKAB's F1: TP / (TP + (FP + FN) / 2) = 3 / 4.
    expect(q.f1).toBeCloseTo(0.75);
    expect(q.far).toBeCloseTo((100 * 1) / 6);
    expect(q.mar).toBeCloseTo(25);
    expect(q).toMatchObject({ readings: 10, anomalous: 4 });
  });

  test('flagging everything gives F1 of the anomalous share and a 100% false alarm rate', () => {
    const confusion = emptyConfusion();
    for (let i = 0; i < 10; i++) count(confusion, i < 4, true);
    const q = quality(confusion);
    expect(q.f1).toBeCloseTo(4 / (4 + 6 / 2));
    expect(q.far).toBe(100);
  });

  test('detection delay counts readings from each episode start to its first flag, and missed episodes', () => {
    const result = delays([
      { labels: [0, 1, 1, 1, 0, 0, 1, 1, 0], flags: [0, 0, 0, 1, 0, 0, 1, 0, 0] },
      { labels: [1, 1, 0, 1, 1], flags: [0, 0, 0, 0, 0] },
    ]);
    // Episodes: [1..3] found after 2, [6..7] found at once, [0..1] and [3..4] never.
    expect(result).toEqual({ episodes: 4, missed: 2, mean: 1, median: 2, max: 2 });
  });
});

describe("the lab's per-reading baseline", () => {
  test('standardises each feature and keeps the threshold with the best training F1', () => {
    const values = [1, 1, 1.1, 0.9, 1, 5, 6, 1, 0.95, 5.5];
    const labels = [0, 0, 0, 0, 0, 1, 1, 0, 0, 1];
    const dataset: Dataset = {
      name: 'hand-made',
      features: ['x'],
      streams: [
        {
          key: 's',
          timestamps: Float64Array.from(values, (_, i) => i),
          values: Float64Array.from(values),
          labels: Uint8Array.from(labels),
        },
      ],
    };
    const model = trainPerReadingModel(dataset);

    const predicted = values.map((v) => (perReadingAnomaly(model, [v]) ? 1 : 0));
    expect(predicted).toEqual(labels);
    expect(model.means[0]).toBeCloseTo(values.reduce((a, b) => a + b) / values.length);
  });
});
