import { CommanderError } from 'commander';
import { costCommand } from '../../cost/cli';
import { type CostOptions, costReport, crossoverRate, measureFor } from '../../cost/model';

const OPTIONS: CostOptions = { rate: 3000, equipment: 3, billing: 'on-demand', seed: 1, badRatio: 0 };

let measured: Awaited<ReturnType<typeof measureFor>>;
beforeAll(async () => {
  measured = await measureFor(OPTIONS);
}, 120_000);

const report = (options: Partial<CostOptions> = {}) =>
  costReport({ ...OPTIONS, ...options }, measured.sizes, measured.settings);
const line = (r: ReturnType<typeof report>, prefix: string) => {
  const item = r.lineItems.find((i) => i.name.startsWith(prefix));
  if (!item) throw new Error(`no line ${prefix}`);
  return item;
};

describe('npm run cost', () => {
  test('sizes are measured from the transform: GZIP CSV far under plain CSV, Parquet under both, documents in write units', () => {
    const { sizes } = measured;
    expect(sizes.readings).toBeGreaterThanOrEqual(60_000);
    expect(sizes.csvGzipBytes).toBeLessThan(sizes.csvBytes / 5);
    expect(sizes.parquetBytes).toBeGreaterThan(0);
    expect(sizes.parquetBytes).toBeLessThan(sizes.csvBytes / 10);
    expect(sizes.documentWriteUnits).toBeGreaterThanOrEqual(sizes.documentItems);
    expect(sizes.stateItemBytes).toBeGreaterThan(1000);
    expect(sizes.logBytesPerBatch).toBeGreaterThan(0);
  });

  test('the report: totals are the sum of the line items, the simulator apart, idle without readings', () => {
    const r = report();
    const sum = r.lineItems.reduce((total, item) => total + item.monthlyUsd, 0);
    expect(r.monthlyUsd).toBeCloseTo(sum, 1);
    expect(r.monthlyUsd - r.withoutSimulatorUsd).toBeCloseTo(line(r, 'EC2 simulator').monthlyUsd, 1);
    for (const item of r.lineItems) {
      expect(item.measured.length).toBeGreaterThan(10);
      expect(item.monthlyUsd).toBeGreaterThanOrEqual(0);
    }
    expect(r.idleUsd).toBeLessThanOrEqual(r.targets.idleUsd.limit);
    expect(r.targets.idleUsd.met).toBe(true);
    expect(['on-demand', 'provisioned']).toContain(r.recommendedBilling);
  });

  test('the settings move the lines they should', () => {
    const base = report();
    expect(line(report({ lakeDays: 30 }), 'S3: CSV lake').monthlyUsd).toBeCloseTo(
      line(base, 'S3: CSV lake').monthlyUsd * 10,
      0,
    );
    const provisioned = report({ billing: 'provisioned' });
    expect(line(provisioned, 'DynamoDB: reads').monthlyUsd).toBeGreaterThan(0);
    expect(provisioned.idleUsd).toBeGreaterThan(base.idleUsd);
    const double = report({ rate: 6000 });
    expect(line(double, 'Firehose').monthlyUsd).toBeCloseTo(line(base, 'Firehose').monthlyUsd * 2, 0);
  });

  test('the crossover: on demand costs less below it, provisioned above it', () => {
    const crossover = crossoverRate(measured.sizes, measured.settings, OPTIONS) as number;
    expect(crossover).toBeGreaterThan(100);
    const writes = (rate: number, billing: CostOptions['billing']) =>
      report({ rate, billing })
        .lineItems.filter(
          (i) =>
            i.name.startsWith('DynamoDB: writes') ||
            i.name.startsWith('DynamoDB: the detector') ||
            i.name === 'DynamoDB: reads',
        )
        .reduce((total, item) => total + item.monthlyUsd, 0);
    expect(writes(crossover * 0.8, 'on-demand')).toBeLessThan(writes(crossover * 0.8, 'provisioned'));
    expect(writes(crossover * 1.2, 'provisioned')).toBeLessThan(writes(crossover * 1.2, 'on-demand'));
  });

  test.each([
    [['--rate', '0'], /--rate must be a number above 0/],
    [['--rate', '3000', '--billing', 'reserved'], /--billing.*on-demand, provisioned/],
    [['--rate', '3000', '--equipment', '2.5'], /--equipment must be a whole number/],
    [['--rate', '3000', '-c', 'oops'], /-c takes key=value/],
    [[], /required option '--rate/],
  ])('usage errors are one clear line: %j', async (args, message) => {
    const errors: string[] = [];
    const command = costCommand(() => {})
      .exitOverride()
      .configureOutput({ writeErr: (text) => errors.push(text), writeOut: () => {} });
    await expect(command.parseAsync(['node', 'cost', ...args])).rejects.toBeInstanceOf(CommanderError);
    expect(errors.join('')).toMatch(message);
  });
});
