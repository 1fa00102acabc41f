import type { DetectorModel, FeatureParameters } from './model';

/**
 * The trained half of the detector, for the features a model names: a "regime level" tracker whose
 * normal band comes from training and never adapts (an absolute limit).
 *
 * A single reading says little: sensor noise and slow shared drifts (the simulator's per-burst
 * offset, a factory's ambient temperature) make normal and anomalous readings overlap. The level the
 * equipment has held over its recent readings says much more. So, per feature, the tracker keeps the
 * readings since the last change of regime, detects a new regime when the mean of the last few
 * readings departs from the regime's mean by more than the noise allows (a two-sample test), and
 * judges the regime's level against the band that normal levels stay in. It also flags a reading far
 * outside its regime (a spike). Where training found the noise bounded (uniform-like), a level is the
 * regime's midrange, which such noise pins down far faster than a mean; otherwise, and whenever the
 * two disagree, it is the mean.
 */

/**
 * The two smallest and the two largest of some readings. Their midrange leaves the outermost pair out,
 * so one stray reading (from before a change of regime, say) cannot pull it.
 */
class TrimmedRange {
  private min1 = Number.POSITIVE_INFINITY;
  private min2 = Number.POSITIVE_INFINITY;
  private max1 = Number.NEGATIVE_INFINITY;
  private max2 = Number.NEGATIVE_INFINITY;

  get midrange(): number {
    return (this.min2 + this.max2) / 2;
  }

  /** Whether `value` is one of the extremes kept, so that losing it leaves them stale. */
  holds(value: number): boolean {
    return value <= this.min2 || value >= this.max2;
  }

  take(value: number): void {
    if (value < this.min2) {
      if (value < this.min1) {
        this.min2 = this.min1;
        this.min1 = value;
      } else this.min2 = value;
    }
    if (value > this.max2) {
      if (value > this.max1) {
        this.max2 = this.max1;
        this.max1 = value;
      } else this.max2 = value;
    }
  }

  reset(): void {
    this.min1 = this.min2 = Number.POSITIVE_INFINITY;
    this.max1 = this.max2 = Number.NEGATIVE_INFINITY;
  }
}

/** The windows compared with the regime, as multiples of the model's change window. */
const CHANGE_SCALES = [1, 3, 10, 30];

/**
 * The readings of one feature since its last change of regime (at most `capacity`): their mean is the
 * level. After each reading, the means of the last k readings, for a few window lengths k, are
 * compared with the mean of the regime's earlier readings; when one differs by more than `changeZ`
 * standard errors, the regime restarts with the shortest such window. Short windows catch large shifts
 * at once, long ones catch small shifts a little later.
 */
export class Regime {
  private readonly values: Float64Array;
  /** Running totals: the sum of readings i..j is totals[j] - totals[i - 1]. */
  private readonly totals: Float64Array;
  private start = 0;
  count = 0;
  private total = 0;
  /** Spikes held out of the regime; a run of `changeWindow` of them is a shift, and joins it. */
  private readonly pending: number[] = [];
  /** The extremes of the regime's readings (for the midrange level). */
  private readonly extremes = new TrimmedRange();
  /** Reused for the extremes of the last few readings. */
  private readonly recentExtremes = new TrimmedRange();

  constructor(private readonly capacity: number) {
    this.values = new Float64Array(capacity);
    this.totals = new Float64Array(capacity);
  }

  /** The mean of the regime's readings (NaN while it has none). */
  get level(): number {
    return this.meanOfLast(this.count);
  }

  /**
   * The midrange of the regime's readings, leaving out the smallest and the largest (so one stray
   * reading from before a change cannot pull it); the mean while the regime has fewer than 4.
   */
  get midrange(): number {
    return this.count < 4 ? this.level : this.extremes.midrange;
  }

  /**
   * The midrange, when it agrees with the mean within 3 of the mean's standard errors (as it does
   * for bounded noise); undefined when readings unlike the noise (spikes taken in before the regime
   * settled, say) have pulled it, or the regime has fewer than 4 readings: then the mean is the level.
   */
  boundedLevel(noiseStd: number): number | undefined {
    if (this.count < 4) return undefined;
    const midrange = this.midrange;
    return Math.abs(midrange - this.level) <= (3 * noiseStd) / Math.sqrt(this.count) ? midrange : undefined;
  }

  /** The midrange of the regime's last `k` readings (4 <= k <= count), without their extremes. */
  midrangeOfLast(k: number): number {
    return this.rangeOfLast(k, this.recentExtremes).midrange;
  }

  /** Mean of the regime's last `k` readings (1 <= k <= count). */
  meanOfLast(k: number): number {
    return this.sumOfLast(k) / k;
  }

  /**
   * Takes a reading in, unless it is a spike off a settled regime: a lone spike must not move the
   * level (or fake a change of regime), while `changeWindow` spikes in a row are a real shift.
   */
  take(
    value: number,
    noiseStd: number,
    settings: { changeWindow: number; changeZ: number; spikeZ: number },
  ): void {
    const { changeWindow, changeZ, spikeZ } = settings;
    const settled = this.count >= 2 * changeWindow;
    if (!settled || Math.abs(value - this.level) <= spikeZ * noiseStd) {
      // Spikes held before this reading were transient: they stay out of the regime.
      this.pending.length = 0;
      this.push(value, noiseStd, changeWindow, changeZ);
      return;
    }
    this.pending.push(value);
    if (this.pending.length < changeWindow) return;
    for (const held of this.pending) this.push(held, noiseStd, changeWindow, changeZ);
    this.pending.length = 0;
  }

  push(value: number, noiseStd: number, window: number, changeZ: number): void {
    let extremesStale = false;
    if (this.count === this.capacity) {
      const evicted = this.values[this.start];
      extremesStale = this.extremes.holds(evicted);
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    const slot = (this.start + this.count) % this.capacity;
    this.total += value;
    this.values[slot] = value;
    this.totals[slot] = this.total;
    this.count++;
    if (extremesStale) this.rangeOfLast(this.count, this.extremes);
    else this.extremes.take(value);
    for (const scale of CHANGE_SCALES) {
      const k = scale * window;
      if (this.count < 2 * k) break;
      const recent = this.sumOfLast(k);
      const older = this.count - k;
      const difference = recent / k - (this.sumOfLast(this.count) - recent) / older;
      if (Math.abs(difference) > changeZ * noiseStd * Math.sqrt(1 / k + 1 / older)) {
        this.start = (this.start + older) % this.capacity;
        this.count = k;
        this.rangeOfLast(k, this.extremes);
        break;
      }
    }
  }

  /**
   * The regime's readings (oldest first), the spikes held out of it, and the running total at its
   * oldest reading. Restoring them rebuilds the running totals by the same additions, in the same
   * order, as they were made: a restored regime continues exactly as the uninterrupted one.
   */
  save(): { readings: Float64Array; pending: number[]; firstTotal: number } {
    const readings = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) readings[i] = this.values[(this.start + i) % this.capacity];
    return {
      readings,
      pending: [...this.pending],
      firstTotal: this.count > 0 ? this.totals[this.start] : this.total,
    };
  }

  restore(readings: ArrayLike<number>, pending: readonly number[], firstTotal: number): void {
    if (readings.length > this.capacity) throw new Error('the saved regime is longer than the model allows');
    this.start = 0;
    this.count = readings.length;
    this.total = firstTotal;
    for (let i = 0; i < readings.length; i++) {
      if (i > 0) this.total += readings[i];
      this.values[i] = readings[i];
      this.totals[i] = this.total;
    }
    this.rangeOfLast(this.count, this.extremes);
    this.pending.length = 0;
    this.pending.push(...pending);
  }

  /** Fills `range` with the extremes of the regime's last `k` readings. */
  private rangeOfLast(k: number, range: TrimmedRange): TrimmedRange {
    range.reset();
    for (let i = this.count - k; i < this.count; i++)
      range.take(this.values[(this.start + i) % this.capacity]);
    return range;
  }

  private sumOfLast(k: number): number {
    const last = (this.start + this.count - 1) % this.capacity;
    if (k === this.count) {
      const first = this.start;
      return this.totals[last] - this.totals[first] + this.values[first];
    }
    return this.totals[last] - this.totals[(this.start + this.count - k - 1) % this.capacity];
  }
}

const LOGISTIC_SLOPE = 1.7;
/** Extra standard errors a level must be out of the band by while its regime is shorter than a window. */
const EARLY_LEVEL_Z = 3;
/** The recent window judged beside the regime, in change windows. */
const RECENT_SCALE = 30;

/** What the trained half says of one feature's reading. */
export interface TrainedScore {
  /**
   * In [0, 1]: the higher of how far the regime's level is out of the trained band and how far the
   * reading is from that level (a spike).
   */
  score: number;
  /** The level's score is the higher (or they are equal): the reason is the level, not a spike. */
  byLevel: boolean;
  level: number;
}

/**
 * Scores one feature's reading against its trained parameters, after `regime` has taken it in (when
 * it is learnt from): how far the regime's level is out of the normal band, in standard errors of the
 * level (judged also on the regime's last readings alone, which show a shift the change test has not
 * split yet), and how far the reading is from that level.
 */
export function scoreTrained(
  p: FeatureParameters,
  model: DetectorModel,
  regime: Regime,
  value: number,
  out: TrainedScore,
): TrainedScore {
  const count = regime.count || 1;
  const recentCount = Math.min(RECENT_SCALE * model.changeWindow, count);
  const recentLevel = regime.count === 0 ? value : regime.meanOfLast(recentCount);
  const recentOutside =
    (Math.max(recentLevel - p.levelHigh, p.levelLow - recentLevel) * Math.sqrt(recentCount)) / p.noiseStd;
  // A level of fewer readings than a change window (after a cold start, say) must be further out.
  const margin = model.levelZ + (count < model.changeWindow ? EARLY_LEVEL_Z : 0);
  const midrange = p.noiseWidth === undefined ? undefined : regime.boundedLevel(p.noiseStd);
  let level: number;
  let outsideBand: number;
  if (p.noiseWidth !== undefined && midrange !== undefined) {
    // Bounded noise: the midrange level, whose standard error is about noiseWidth / n. The recent
    // readings count only when their mean and their midrange (uncorrelated for such noise) both put
    // them out, which keeps a normal level near the band's edge from being flagged by chance.
    level = midrange;
    outsideBand = (Math.max(level - p.levelHigh, p.levelLow - level) * count) / p.noiseWidth;
    // (Their midrange costs a pass over them: it is skipped while their mean is too far inside the
    // band to score even 0.001.)
    if (recentOutside > outsideBand && recentOutside > margin - 4 && recentCount >= 4) {
      const recentMid = regime.midrangeOfLast(recentCount);
      const recentMidOutside =
        (Math.max(recentMid - p.levelHigh, p.levelLow - recentMid) * recentCount) / p.noiseWidth;
      outsideBand = Math.max(outsideBand, Math.min(recentOutside, recentMidOutside));
    }
  } else {
    level = regime.count === 0 ? value : regime.level;
    outsideBand = Math.max(
      (Math.max(level - p.levelHigh, p.levelLow - level) * Math.sqrt(count)) / p.noiseStd,
      recentOutside,
    );
  }
  // Both scores are logistic, so the higher one is the logistic of the higher argument: one exp, not
  // two. Only where the level's score is 1 as well (it rounds to 1 from an argument of about 36) must
  // it be computed too, to tell which one wins a tie as the two-score comparison did.
  const levelArgument = LOGISTIC_SLOPE * (outsideBand - margin);
  const spikeArgument = (Math.abs(value - level) / p.noiseStd - model.spikeZ) * 2;
  out.score = logistic(levelArgument > spikeArgument ? levelArgument : spikeArgument);
  out.byLevel =
    levelArgument >= spikeArgument || (levelArgument > 30 && logistic(levelArgument) >= out.score);
  out.level = level;
  return out;
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
