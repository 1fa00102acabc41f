import type { CostReport } from './model';

const usd = (n: number) =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/**
 * The cost table of docs/cost.md (between `<!-- cost-table:start -->` and `<!-- cost-table:end -->`): both
 * billing modes of one rate, each line item with how it was measured, the totals and the idle month.
 */
export function costMarkdown(
  reports: { onDemand: CostReport; provisioned: CostReport },
  crossover: number | undefined,
  command: string,
): string {
  const { onDemand, provisioned } = reports;
  const rows = onDemand.lineItems.map((item, i) => {
    const other = provisioned.lineItems[i];
    return `| ${item.name} | ${usd(item.monthlyUsd)} | ${usd(other.monthlyUsd)} | ${usd(item.idleUsd)} | ${item.measured} |`;
  });
  const recommended = onDemand.recommendedBilling;
  return [
    `\`${command}\` (${onDemand.region} list prices, ${onDemand.pricesDate}; ${onDemand.rate.toLocaleString('en-US')} readings/s from ${onDemand.equipment} equipment, around the clock; CSV kept ${onDemand.lakeDays} days, curated Parquet ${onDemand.curatedDays} days):`,
    '',
    '| line item | table on demand | table provisioned | idle (on demand) | measured |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows,
    `| **total** | **${usd(onDemand.monthlyUsd)}** | **${usd(provisioned.monthlyUsd)}** | **${usd(onDemand.idleUsd + onDemand.idleStorageUsd + onDemand.idleSimulatorUsd)}** | |`,
    `| **without the simulator's EC2 box** | **${usd(onDemand.withoutSimulatorUsd)}** | **${usd(provisioned.withoutSimulatorUsd)}** | **${usd(onDemand.idleUsd + onDemand.idleStorageUsd)}** | |`,
    `| **idle, nothing stored, no simulator** | | | **${usd(onDemand.idleUsd)}** | provisioned: ${usd(provisioned.idleUsd)} |`,
    '',
    `Recommended at this rate: the table ${recommended === 'on-demand' ? 'on demand' : 'provisioned'}. ${
      crossover === undefined
        ? 'On demand costs less at every rate.'
        : `With these sizes, provisioned writes cost less above about ${crossover.toLocaleString('en-US')} readings/s (${(crossover / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} lab records a second); below it, on demand. Idle, provisioned still pays its minimum capacity (${usd(provisioned.idleUsd)} a month).`
    }`,
  ].join('\n');
}

/** A setting's effect: the month without the simulator, table on demand, beside the defaults'. */
export interface SettingEffect {
  setting: string;
  what: string;
  withoutSimulatorUsd: number;
  idleUsd: number;
}

export function settingsMarkdown(base: CostReport, effects: readonly SettingEffect[]): string {
  const delta = (n: number) => `${n >= 0 ? '+' : '-'}${usd(Math.abs(n))}`;
  return [
    `What a setting (\`-c key=value\`, CDK context) changes, from the same measurement (table on demand, without the simulator: ${usd(base.withoutSimulatorUsd)} a month, idle ${usd(base.idleUsd)}):`,
    '',
    '| setting | what it changes | a month | change | idle |',
    '| --- | --- | ---: | ---: | ---: |',
    ...effects.map(
      (e) =>
        `| ${e.setting} | ${e.what} | ${usd(e.withoutSimulatorUsd)} | ${delta(e.withoutSimulatorUsd - base.withoutSimulatorUsd)} | ${usd(e.idleUsd)} |`,
    ),
  ].join('\n');
}
