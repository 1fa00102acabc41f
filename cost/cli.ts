import '../cli/sdk-warning';
import { Command, InvalidArgumentError, Option } from 'commander';
import { npmBannerNote, seeHelp } from '../cli/usage';
import { costMarkdown, type SettingEffect, settingsMarkdown } from './markdown';
import {
  type Billing,
  type CostOptions,
  costReport,
  crossoverRate,
  measureFor,
  settings as settingsFor,
} from './model';

/**
 * `npm run cost`: the monthly cost of a deployment at a rate of readings, line by line, from sizes
 * measured by running the transform's own code on simulator readings (cost/measure.ts), at the list
 * prices of cost/prices.ts.
 */

export interface CostCliOptions extends CostOptions {
  json: boolean;
  markdown: boolean;
}

const positive =
  (name: string, max: number, integer = false) =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(
        `${name} must be a${integer ? ' whole' : ''} number above 0, at most ${max.toLocaleString('en-US')}.`,
      );
    return n;
  };

const ratio = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('--bad-ratio must be from 0 to 1.');
  return n;
};

const contextPair = (value: string, previous: Record<string, string>) => {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      '-c takes key=value, as cdk deploy does (e.g. -c tableWriteCapacity=100).',
    );
  return { ...previous, [match[1]]: match[2] };
};

/** The command line the table of docs/cost.md is generated with. */
export const README_COMMAND = 'npm run cost -- --rate 3000 --markdown';

/** The settings the second table of docs/cost.md prices, each against the defaults. */
const SETTING_VARIANTS: {
  setting: string;
  what: string;
  context: Record<string, string>;
  lakeDays?: number;
}[] = [
  {
    setting: 'transformBatchingWindowSeconds=1',
    what: 'a CSV object, a log record and a newest-reading update per equipment every second rather than every 10 s (readings reach the table and the alerts within about a second rather than up to 10 s)',
    context: { transformBatchingWindowSeconds: '1' },
  },
  {
    setting: 'detectorStateSaveSeconds=10',
    what: "the detector's state saved every 10 s per equipment rather than once a minute (a cold start relearns at most 10 s rather than a minute)",
    context: { detectorStateSaveSeconds: '10' },
  },
  {
    setting: 'lakeRetentionDays=90',
    what: 'the CSV objects kept 90 days beside the curated zone',
    context: { lakeRetentionDays: '90' },
  },
  {
    setting: 'curation=false',
    what: 'no curated zone: the CSV lake kept dataExpirationDays, and Athena scans CSV',
    context: { curation: 'false' },
  },
  {
    setting: 'dataExpirationDays=30',
    what: 'the curated zone, the raw archive and the quarantine kept 30 days rather than 90',
    context: { dataExpirationDays: '30' },
  },
  {
    setting: 'readingsTtlDays=7',
    what: 'the documents and per-minute windows kept 7 days in the table rather than 2 (the lake keeps everything)',
    context: { readingsTtlDays: '7' },
  },
  {
    setting: 'pointInTimeRecovery=false',
    what: 'no continuous backups of the table',
    context: { pointInTimeRecovery: 'false' },
  },
  {
    setting: 'streamMode=on-demand',
    what: 'both streams on demand (they scale themselves) rather than one provisioned shard each',
    context: { streamMode: 'on-demand' },
  },
  {
    setting: 'tableBillingMode=provisioned',
    what: 'the table provisioned, autoscaled from tableWriteCapacity (150) and tableReadCapacity (50)',
    context: { tableBillingMode: 'provisioned' },
  },
];

export async function runCost(options: CostCliOptions, out: (text: string) => void): Promise<void> {
  const { sizes, settings } = await measureFor(options);
  if (options.markdown) {
    const onDemand = costReport({ ...options, billing: 'on-demand' }, sizes, settings);
    const provisioned = costReport({ ...options, billing: 'provisioned' }, sizes, settings);
    out(costMarkdown({ onDemand, provisioned }, crossoverRate(sizes, settings, options), README_COMMAND));
    const effects: SettingEffect[] = [];
    for (const variant of SETTING_VARIANTS) {
      const context = { ...options.context, ...variant.context };
      const billing: Billing = context.tableBillingMode === 'provisioned' ? 'provisioned' : 'on-demand';
      const variantOptions = { ...options, context, billing };
      // A setting that changes the batches is measured again; the others price the same sizes.
      const measured = variant.context.transformBatchingWindowSeconds
        ? await measureFor(variantOptions)
        : { sizes, settings: settingsFor(context) };
      const report = costReport(variantOptions, measured.sizes, measured.settings);
      effects.push({ ...variant, withoutSimulatorUsd: report.withoutSimulatorUsd, idleUsd: report.idleUsd });
    }
    out('');
    out(settingsMarkdown(onDemand, effects));
    return;
  }
  const report = costReport(options, sizes, settings);
  const crossover = crossoverRate(sizes, settings, options);
  if (options.json) {
    out(JSON.stringify({ ...report, crossoverRate: crossover ?? null }, null, 2));
    return;
  }
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const width = Math.max(...report.lineItems.map((item) => item.name.length));
  out(
    `Monthly cost at ${report.rate.toLocaleString('en-US')} readings/s from ${report.equipment} equipment, table ${report.billing} (${report.region} list prices, ${report.pricesDate}):`,
  );
  for (const item of report.lineItems)
    out(`  ${item.name.padEnd(width)}  ${usd(item.monthlyUsd).padStart(9)}   ${item.measured}`);
  out(`  ${'total'.padEnd(width)}  ${usd(report.monthlyUsd).padStart(9)}`);
  out(`  ${'without the simulator'.padEnd(width)}  ${usd(report.withoutSimulatorUsd).padStart(9)}`);
  out(
    `  ${'idle (no readings)'.padEnd(width)}  ${usd(report.idleUsd).padStart(9)}   without the simulator stack; plus ${usd(report.idleStorageUsd)} for the storage kept until it expires, ${usd(report.idleSimulatorUsd)} for the simulator's box while deployed`,
  );
  const { targets } = report;
  out(
    `Targets: without the simulator at most $${targets.withoutSimulatorUsd.limit} (${targets.withoutSimulatorUsd.met ? 'met' : 'NOT met'}), idle at most $${targets.idleUsd.limit} (${targets.idleUsd.met ? 'met' : 'NOT met'}).`,
  );
  out(
    `Recommended table billing at this rate: ${report.recommendedBilling} (the other mode: ${usd(report.otherBillingUsd)} without the simulator).${crossover ? ` Provisioned costs less above about ${crossover.toLocaleString('en-US')} readings/s.` : ''}`,
  );
}

export function costCommand(out: (text: string) => void = console.log): Command {
  return new Command('cost')
    .description(
      'Monthly cost of a deployment per line item, from sizes measured by running the transform on simulator readings, at the list prices of cost/prices.ts.',
    )
    .requiredOption(
      '--rate <readings/s>',
      'readings per second, sent around the clock',
      positive('--rate', 10_000_000),
    )
    .option(
      '--equipment <n>',
      "equipment sending (the simulator's, from 101)",
      positive('--equipment', 1_000, true),
      3,
    )
    .addOption(
      new Option('--billing <mode>', "the table's billing mode (tableBillingMode)")
        .choices(['on-demand', 'provisioned'])
        .default('on-demand'),
    )
    .option(
      '--lake-days <days>',
      'days the CSV objects are kept (default: lakeRetentionDays with the curation, else dataExpirationDays)',
      positive('--lake-days', 36_500, true),
    )
    .option(
      '--seed <n>',
      'simulator seed of the measured readings (fixed: the same figures every run)',
      positive('--seed', 2 ** 31, true),
      1,
    )
    .option('--bad-ratio <fraction>', 'fraction of malformed readings sent (the quarantine)', ratio, 0)
    .option(
      '-c, --context <key=value>',
      'a deployment setting, as for cdk deploy -c (repeatable)',
      contextPair,
      {},
    )
    .option(
      '--measure-cpu',
      "time the transform's code in-process for its Lambda time, instead of the Benchmarks figure",
      false,
    )
    .option('--json', 'print the report as JSON', false)
    .option('--markdown', 'print the table of docs/cost.md (both billing modes)', false)
    .showHelpAfterError(seeHelp('npm run cost'))
    .action(
      async (
        raw: Omit<CostCliOptions, 'billing'> & { billing: Billing; context: Record<string, string> },
      ) => {
        if (raw.json && raw.markdown) throw new Error('--json and --markdown: choose one');
        const note = raw.json || raw.markdown ? npmBannerNote('cost') : undefined;
        if (note) console.error(note);
        await runCost({ ...raw, context: raw.context }, out);
      },
    );
}

if (require.main === module) {
  costCommand()
    .parseAsync(process.argv)
    .catch((error: Error) => {
      console.error(`cost: ${error.message}`);
      process.exit(1);
    })
    .then(() => process.exit(process.exitCode ?? 0));
}
