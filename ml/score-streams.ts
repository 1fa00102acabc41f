import {
  createStreamDetector,
  type StreamDetector,
  type StreamDetectorConfig,
  type ValuesScore,
} from '../lambdas/shared/detector';
import { type Dataset, type Stream, streamLength } from './dataset';

export interface ScoreStreamsOptions {
  /**
   * Replays cold starts: every this many milliseconds of stream time, every stream's state is saved,
   * the detector is dropped, and a new one restores the states (as a new Lambda environment would).
   */
  coldStartEveryMs?: number;
}

/**
 * Scores every reading of a dataset, stream after stream, in time order: the one scoring path of
 * `npm run score` and `npm run evaluate` (NAB, SKAB, CSV). Calls `onReading` for each reading.
 */
export function scoreStreams(
  dataset: Dataset,
  config: Omit<StreamDetectorConfig, 'features'>,
  onReading: (stream: Stream, index: number, result: ValuesScore) => void,
  options: ScoreStreamsOptions = {},
): { coldStarts: number; modelVersion: string } {
  const create = () => createStreamDetector({ ...config, features: dataset.features });
  let detector: StreamDetector = create();
  const width = dataset.features.length;
  let coldStarts = 0;
  for (const stream of dataset.streams) {
    let nextColdStart = Number.NaN;
    for (let i = 0; i < streamLength(stream); i++) {
      const t = stream.timestamps[i];
      if (options.coldStartEveryMs !== undefined) {
        if (Number.isNaN(nextColdStart)) nextColdStart = t + options.coldStartEveryMs;
        else if (t >= nextColdStart) {
          detector = restart(detector, create, stream.key);
          coldStarts++;
          nextColdStart = t + options.coldStartEveryMs;
        }
      }
      onReading(
        stream,
        i,
        detector.scoreValues(stream.key, t, stream.values.subarray(i * width, (i + 1) * width)),
      );
    }
  }
  return { coldStarts, modelVersion: detector.modelVersion };
}

/** A new detector holding what the old one saved of `key`. */
function restart(old: StreamDetector, create: () => StreamDetector, key: string): StreamDetector {
  const saved = old.saveState(key);
  const fresh = create();
  if (saved) fresh.restoreState(key, saved);
  return fresh;
}
