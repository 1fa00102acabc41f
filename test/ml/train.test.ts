import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { simulatorDataset } from '../../ml/dataset';
import { boundedNoiseWidth, DEFAULT_SETTINGS, trainModel } from '../../ml/train';

/** Consecutive differences of `count` readings of noise `draw` around levels that step every 1,000. */
function differences(seed: number, count: number, draw: (uniform: () => number) => number): number[] {
  const rng = xoroshiro128plus(seed);
  const uniform = () => uniformFloat64(rng);
  const values = Array.from({ length: count }, (_, i) => Math.floor(i / 1_000) * 3 + draw(uniform));
  return values.slice(1).map((value, i) => value - values[i]);
}

/** A standard normal draw (Box-Muller). */
const gaussian = (uniform: () => number) =>
  Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());

describe('boundedNoiseWidth', () => {
  it('finds uniform noise bounded and measures its width, despite the level stepping', () => {
    const width = boundedNoiseWidth(differences(1, 50_000, (u) => 10 * (u() - 0.5)));
    expect(width).toBeGreaterThan(9.8);
    expect(width).toBeLessThan(10.2);
  });

  it('leaves Gaussian and heavy-tailed noise to the mean', () => {
    expect(boundedNoiseWidth(differences(2, 50_000, gaussian))).toBeUndefined();
    expect(boundedNoiseWidth(differences(3, 50_000, (u) => gaussian(u) ** 3))).toBeUndefined();
  });

  it('does not judge the shape from fewer than 1,000 differences', () => {
    expect(boundedNoiseWidth(differences(4, 900, (u) => u()))).toBeUndefined();
  });
});

describe('trainModel', () => {
  it('on the simulator, finds each feature’s noise bounded, with the generator’s width (20% of base)', () => {
    const model = trainModel(simulatorDataset(40, 150_000), DEFAULT_SETTINGS, {
      modelVersion: 'test',
      source: 'simulator',
    });
    const bases = [250, 1000, 60, 30];
    model.parameters.forEach((p, f) => {
      expect((p.noiseWidth as number) / bases[f]).toBeGreaterThan(0.19);
      expect((p.noiseWidth as number) / bases[f]).toBeLessThan(0.21);
      // The band reaches about to the generator's +-10% of base, from fewer than 50 distinct offsets.
      expect(p.levelLow / bases[f]).toBeLessThan(0.91);
      expect(p.levelHigh / bases[f]).toBeGreaterThan(1.09);
    });
  });
});
