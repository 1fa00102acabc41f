import { ALERTER_METRICS } from '../lambdas/shared/metrics-catalog';
import {
  type PipelineConfig,
  readPipelineConfig,
  readSimulatorConfig,
  type SimulatorConfig,
} from '../lib/config';
import { ALARM_NAMES } from '../lib/constructs/monitoring';
import { type MeasuredSizes, measureSizes } from './measure';
import { GB, HOURS_PER_MONTH, PRICES, PRICES_DATE, PRICES_REGION, SECONDS_PER_MONTH } from './prices';

/**
 * The monthly cost of a deployment at a rate of readings, line by line: quantities from sizes measured
 * with the project's own code (cost/measure.ts), settings from the deployment's defaults (lib/config.ts),
 * prices from cost/prices.ts.
 */

export type Billing = 'on-demand' | 'provisioned';

export interface CostOptions {
  /** Readings per second, sent around the clock. */
  rate: number;
  /** Equipment sending (the simulator's, from 101). */
  equipment: number;
  billing: Billing;
  /** Days the CSV objects are kept; default: lakeRetentionDays with curation, else dataExpirationDays. */
  lakeDays?: number;
  seed: number;
  badRatio: number;
  /** Context values as for `cdk deploy -c key=value` (strings), over the defaults. */
  context?: Record<string, string>;
  /** Time the transform in-process for its Lambda duration, rather than the documented bench figure. */
  measureCpu?: boolean;
}

export interface LineItem {
  name: string;
  monthlyUsd: number;
  /** What it is, and how its quantity was measured. */
  measured: string;
  /** Part of the simulator stack (not of the pipeline). */
  simulator?: boolean;
  /** Storage: still billed after the readings stop, until what is kept expires. */
  storage?: boolean;
  /** What this line costs in a month with no readings (storage: what is kept at the steady state). */
  idleUsd: number;
}

export interface CostReport {
  region: string;
  pricesDate: string;
  rate: number;
  equipment: number;
  billing: Billing;
  lakeDays: number;
  curatedDays: number;
  monthlyUsd: number;
  withoutSimulatorUsd: number;
  /**
   * A month with no readings and nothing stored, without the simulator stack: the shards, alarms,
   * dashboard, key (and the provisioned capacity, if provisioned).
   */
  idleUsd: number;
  /** Besides idleUsd, after readings stop: the storage kept at the steady state, until it expires. */
  idleStorageUsd: number;
  /** Besides idleUsd: the simulator's EC2 box, while its stack is deployed (sending or not). */
  idleSimulatorUsd: number;
  /** The targets, at this rate: without the simulator at most $150, idle at most $30. */
  targets: { withoutSimulatorUsd: { limit: number; met: boolean }; idleUsd: { limit: number; met: boolean } };
  recommendedBilling: Billing;
  /** The other billing mode's total without the simulator, for comparison. */
  otherBillingUsd: number;
  lineItems: LineItem[];
  measuredSizes: Record<string, number>;
}

/**
 * The transform's CPU time per 1,000 readings when not timed in-process: the figure "transform without
 * I/O" of docs/benchmarks.md (98,000 readings/s on one core of a 2-core machine, the CSV's GZIP included:
 * 10.2 ms per 1,000; test/cost/readme-table.test.ts keeps the two in step). A proxy: I/O waits (S3,
 * DynamoDB, Kinesis writes) overlap in the function and are not counted. A documented figure rather
 * than a timing, so that the table of docs/cost.md is the same on every machine (`--measure-cpu` times it).
 */
export const BENCH_TRANSFORM_READINGS_PER_SECOND = 98_000;
export const BENCH_TRANSFORM_MS_PER_1000 = 1_000_000 / BENCH_TRANSFORM_READINGS_PER_SECOND;

/** The alerter's billed time per invocation: I/O-bound (a conditional write, an SNS publish per episode). */
export const ALERTER_MS_PER_INVOCATION = 50;

/** Stated Athena pattern besides the curation: this many queries a month, each over one day of curated data. */
export const ATHENA_QUERIES_PER_MONTH = 100;

/** Step Functions state transitions of one hourly curation (start query, wait/poll, check, notify). */
export const CURATION_TRANSITIONS = 12;

const round2 = (usd: number) => Math.round(usd * 100) / 100;

/** Issue 14's targets: at 3,000 readings/s with 90 days queryable, without the EC2 box; and idle. */
export const TARGET_WITHOUT_SIMULATOR_USD = 150;
export const TARGET_IDLE_USD = 30;

export interface Settings {
  pipeline: PipelineConfig;
  simulator: SimulatorConfig;
}

export function settings(context: Record<string, string> = {}): Settings {
  return {
    pipeline: readPipelineConfig((key) => context[key]),
    simulator: readSimulatorConfig((key) => context[key]),
  };
}

/** Records per transform batch and batches a second, for the rate on the input's shards. */
export function batching(rate: number, burstSize: number, shards: number, config: PipelineConfig) {
  const recordsPerShardPerSecond = rate / burstSize / shards;
  // Lambda reads each shard about once a second and gathers up to the batching window (at least 1 s).
  const pollsPerSecond = 1 / Math.max(1, config.transformBatchingWindowSeconds);
  const batchesPerShardPerSecond = Math.min(
    recordsPerShardPerSecond,
    Math.max(pollsPerSecond, recordsPerShardPerSecond / config.transformBatchSize),
  );
  return {
    recordsPerBatch: Math.max(
      1,
      Math.round(recordsPerShardPerSecond / Math.max(batchesPerShardPerSecond, 1e-9)),
    ),
    batchesPerSecond: batchesPerShardPerSecond * shards,
  };
}

/** Measures the sizes once; the same sizes price both billing modes. */
export async function measureFor(
  options: CostOptions,
): Promise<{ sizes: MeasuredSizes; settings: Settings }> {
  const s = settings(options.context);
  const shards = inputShards(options.rate, 160 * 1000, s.pipeline);
  const { recordsPerBatch } = batching(options.rate, 1000, shards, s.pipeline);
  const sizes = await measureSizes({
    rate: options.rate,
    equipment: options.equipment,
    seed: options.seed,
    recordsPerBatch,
    badRatio: options.badRatio,
    config: s.pipeline,
    timeCpu: options.measureCpu ?? false,
  });
  return { sizes, settings: s };
}

function inputShards(rate: number, bytesPerRecord: number, config: PipelineConfig): number {
  const p = PRICES.kinesis;
  return Math.max(
    config.inputShardCount,
    Math.ceil(((rate / 1000) * bytesPerRecord) / p.shardBytesPerSecond),
    Math.ceil(rate / 1000 / p.shardRecordsPerSecond),
  );
}

const average = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

export function costReport(options: CostOptions, sizes: MeasuredSizes, s: Settings): CostReport {
  const config = s.pipeline;
  const rate = options.rate;
  const items: LineItem[] = [];
  const add = (item: Omit<LineItem, 'idleUsd'> & { idleUsd?: number }) =>
    items.push({ ...item, monthlyUsd: round2(item.monthlyUsd), idleUsd: round2(item.idleUsd ?? 0) });
  const fmt = (n: number, digits = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

  // What was measured, per reading and per record.
  const readingsPerRecord = sizes.sentReadings / sizes.records;
  const recordBytes = average(sizes.recordBytes);
  const recordsPerSecond = rate / readingsPerRecord;
  const validShare = sizes.readings / sizes.sentReadings;
  const validPerSecond = rate * validShare;
  const perValid = (total: number) => total / sizes.readings;
  const readingsPerMonth = validPerSecond * SECONDS_PER_MONTH;
  const shards = inputShards(rate, recordBytes, config);
  const { batchesPerSecond } = batching(rate, readingsPerRecord, shards, config);
  const batchesPerMonth = batchesPerSecond * SECONDS_PER_MONTH;
  const lakeDays =
    options.lakeDays ?? (config.curation ? config.lakeRetentionDays : config.dataExpirationDays);
  const curatedDays = config.curation ? config.dataExpirationDays : 0;
  const gbStored = (bytesPerSecond: number, days: number) => (bytesPerSecond * days * 86_400) / GB;

  // Kinesis: the input stream (records of readingsPerRecord readings) and the anomalies stream.
  const k = PRICES.kinesis;
  const putUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / k.putUnitBytes));
  const anomalyRecordsPerSecond = (sizes.anomalyRecords / sizes.readings) * validPerSecond;
  const anomalyBytes = average(sizes.anomalyRecordBytes);
  if (config.streamMode === 'provisioned') {
    const inputShardsUsd = shards * HOURS_PER_MONTH * k.shardHour;
    // The anomalies stream takes the events as the transform packs them (records of up to 900 KB).
    const anomalyShards = Math.max(
      config.anomaliesShardCount,
      Math.ceil((anomalyRecordsPerSecond * anomalyBytes) / k.shardBytesPerSecond),
      Math.ceil(anomalyRecordsPerSecond / k.shardRecordsPerSecond),
    );
    const anomalyShardsUsd = anomalyShards * HOURS_PER_MONTH * k.shardHour;
    add({
      name: `Kinesis: ${shards + anomalyShards} shards (input ${shards}, anomalies ${anomalyShards})`,
      monthlyUsd: inputShardsUsd + anomalyShardsUsd,
      // The shards deployed for this rate are billed idle or not.
      idleUsd: inputShardsUsd + anomalyShardsUsd,
      measured: `${fmt(recordBytes / 1024)} KB a record of ${fmt(readingsPerRecord)} readings (the simulator's JSON), ${fmt((rate * recordBytes) / readingsPerRecord / 1024)} KB/s in: ${shards} shard${shards > 1 ? 's' : ''} of 1 MiB/s`,
    });
    add({
      name: 'Kinesis: PUT payload units',
      monthlyUsd:
        ((recordsPerSecond * putUnits(recordBytes) + anomalyRecordsPerSecond * putUnits(anomalyBytes)) *
          SECONDS_PER_MONTH *
          k.putUnitPerMillion) /
        1e6,
      measured: `${putUnits(recordBytes)} units of 25 KB per input record; anomaly records of ${fmt(anomalyBytes / 1024)} KB, ${fmt(anomalyRecordsPerSecond, 2)}/s`,
    });
  } else {
    const gbIn = ((rate / readingsPerRecord) * recordBytes * SECONDS_PER_MONTH) / GB;
    add({
      name: 'Kinesis on demand: 2 streams',
      monthlyUsd:
        2 * HOURS_PER_MONTH * k.onDemandStreamHour +
        gbIn * (k.onDemandIngestedGb + 2 * k.onDemandRetrievedGb),
      idleUsd: 2 * HOURS_PER_MONTH * k.onDemandStreamHour,
      measured: `${fmt(gbIn)} GB in a month, read twice (transform, Firehose)`,
    });
  }

  // Lambda: the transform (batches, memory, CPU time) and the alerter.
  const l = PRICES.lambda;
  const msPer1000 =
    options.measureCpu && sizes.cpuMsPer1000 ? sizes.cpuMsPer1000 : BENCH_TRANSFORM_MS_PER_1000;
  const cpuShare = Math.min(1, config.transformMemoryMb / l.mbPerVcpu);
  const transformSeconds = ((readingsPerMonth / 1000) * (msPer1000 / 1000)) / cpuShare;
  const transformUsd =
    (batchesPerMonth * l.requestPerMillion) / 1e6 +
    transformSeconds * (config.transformMemoryMb / 1024) * l.gbSecondArm;
  add({
    name: `Lambda: transform (${config.transformMemoryMb} MB, arm64)`,
    monthlyUsd: transformUsd,
    measured: `${fmt(batchesPerSecond, 1)} batches/s; ${fmt(msPer1000, 1)} ms of CPU per 1,000 readings (${options.measureCpu ? 'timed in-process, I/O not counted' : 'the Benchmarks figure, I/O not counted'}), stretched by ${fmt(1 / cpuShare, 2)} for the CPU share of ${config.transformMemoryMb} MB`,
  });
  const alerterInvocations = Math.min(anomalyRecordsPerSecond, 1) * SECONDS_PER_MONTH;
  add({
    name: 'Lambda: alerter (256 MB, arm64)',
    monthlyUsd:
      (alerterInvocations * l.requestPerMillion) / 1e6 +
      alerterInvocations * (ALERTER_MS_PER_INVOCATION / 1000) * (256 / 1024) * l.gbSecondArm,
    measured: `${fmt(Math.min(anomalyRecordsPerSecond, 1), 2)} invocations/s (anomaly records measured), ${ALERTER_MS_PER_INVOCATION} ms each (assumed, I/O-bound)`,
  });

  // DynamoDB writes: documents, per-minute windows, newest-reading markers, detector states.
  const d = PRICES.dynamodb;
  const documentUnitsPerSecond = (sizes.documentWriteUnits / sizes.readings) * validPerSecond;
  const windowUnitsPerSecond = (sizes.windowWriteUnits / sizes.readings) * validPerSecond;
  const latestPerSecond = batchesPerSecond * Math.min(options.equipment, sizes.records / sizes.batches);
  const statesPerSecond = rate > 0 ? options.equipment / config.detectorStateSaveSeconds : 0;
  const stateUnitsPerSecond = statesPerSecond * sizes.stateWriteUnits;
  const writeUnitsPerSecond = documentUnitsPerSecond + windowUnitsPerSecond + latestPerSecond;
  const provisionedWcu = (units: number) =>
    Math.min(
      config.tableWriteCapacity * 4,
      Math.max(config.tableWriteCapacity, Math.ceil(units / d.autoscalingTargetUtilization)),
    );
  const writesUsd = (units: number, billing: Billing) =>
    billing === 'on-demand'
      ? (units * SECONDS_PER_MONTH * d.onDemandWritePerMillion) / 1e6
      : provisionedWcu(units) * HOURS_PER_MONTH * d.provisionedWcuHour;
  const totalUnits = writeUnitsPerSecond + stateUnitsPerSecond;
  const billingNote = (billing: Billing) =>
    billing === 'on-demand'
      ? ''
      : ` (provisioned ${provisionedWcu(totalUnits)} WCU (autoscaled to ${Math.round(d.autoscalingTargetUtilization * 100)}% from the minimum tableWriteCapacity ${config.tableWriteCapacity}))`;
  const writesShare = totalUnits > 0 ? writeUnitsPerSecond / totalUnits : 1;
  const writeLines = (billing: Billing) => {
    const total = writesUsd(totalUnits, billing);
    const idle = billing === 'provisioned' ? writesUsd(0, billing) : 0;
    return [
      {
        name: 'DynamoDB: writes of documents, windows, markers',
        monthlyUsd: total * writesShare,
        idleUsd: idle * writesShare,
        measured: `${fmt(writeUnitsPerSecond, 1)} write units/s${billingNote(billing)}: documents ${fmt(sizes.documentBytes / sizes.documentItems / 1024, 1)} KB (${fmt(perValid(sizes.documentWriteUnits) * 1000, 1)} units per 1,000 readings), per-minute windows ${fmt(perValid(sizes.windowWriteUnits) * 1000, 1)} units per 1,000, ${fmt(latestPerSecond, 1)} newest-reading updates/s`,
      },
      {
        name: "DynamoDB: the detector's saved state",
        monthlyUsd: total * (1 - writesShare),
        idleUsd: idle * (1 - writesShare),
        measured: `${fmt(sizes.stateItemBytes / 1024, 1)} KB a state (${sizes.stateWriteUnits} units), one save per equipment every ${config.detectorStateSaveSeconds} s`,
      },
    ];
  };
  for (const line of writeLines(options.billing)) add(line);
  const readsUsd =
    options.billing === 'provisioned' ? config.tableReadCapacity * HOURS_PER_MONTH * d.provisionedRcuHour : 0;
  add({
    name: 'DynamoDB: reads',
    monthlyUsd: readsUsd,
    idleUsd: readsUsd,
    measured:
      options.billing === 'provisioned'
        ? `tableReadCapacity ${config.tableReadCapacity} RCU provisioned; the pipeline itself reads only at cold starts`
        : 'on demand: the pipeline reads only at cold starts (restoring states); last3 and the local dashboard read when used',
  });
  const itemBytesPerSecond = ((sizes.documentBytes + sizes.windowBytes) / sizes.readings) * validPerSecond;
  const tableGb = gbStored(itemBytesPerSecond, config.readingsTtlDays);
  const storageUsd = tableGb * (d.storageGbMonth + (config.pointInTimeRecovery ? d.pitrGbMonth : 0));
  add({
    name: `DynamoDB: storage${config.pointInTimeRecovery ? ' and point-in-time recovery' : ''}`,
    monthlyUsd: storageUsd,
    idleUsd: 0,
    measured: `${fmt(perValid(sizes.documentBytes + sizes.windowBytes), 1)} bytes a reading, kept readingsTtlDays (${config.readingsTtlDays}): ${fmt(tableGb)} GB`,
  });

  // S3 storage: the CSV lake, the curated zone, the raw archive, the quarantine.
  const s3 = PRICES.s3;
  const csvPerReading = perValid(sizes.csvGzipBytes);
  const csvGb = gbStored(csvPerReading * validPerSecond, lakeDays);
  add({
    name: `S3: CSV lake (GZIP), ${lakeDays} days`,
    monthlyUsd: csvGb * s3.standardGbMonth,
    measured: `${fmt(csvPerReading, 1)} bytes a reading (${fmt(perValid(sizes.csvBytes), 1)} before GZIP): ${fmt(csvGb)} GB kept`,
  });
  const parquetPerReading = perValid(sizes.parquetBytes);
  const curatedGb = gbStored(parquetPerReading * validPerSecond, curatedDays);
  add({
    name: `S3: curated zone (Parquet), ${curatedDays} days`,
    monthlyUsd: curatedGb * s3.standardGbMonth,
    measured: config.curation
      ? `${fmt(parquetPerReading, 1)} bytes a reading (DuckDB, ZSTD, one hour's objects): ${fmt(curatedGb)} GB kept dataExpirationDays (${config.dataExpirationDays})`
      : 'curation off',
  });
  const rawPerReading = sizes.rawGzipBytes / sizes.sentReadings;
  const rawGb = gbStored(rawPerReading * rate, config.dataExpirationDays);
  add({
    name: `S3: raw archive (GZIP), ${config.dataExpirationDays} days`,
    monthlyUsd: rawGb * s3.standardGbMonth,
    measured: `${fmt(rawPerReading, 1)} bytes a reading (the records, one a line, GZIP): ${fmt(rawGb)} GB kept`,
  });
  const quarantinePerReading = sizes.quarantineBytes / sizes.sentReadings;
  const quarantineGb = gbStored(quarantinePerReading * rate, config.dataExpirationDays);
  add({
    name: 'S3: quarantine',
    monthlyUsd: quarantineGb * s3.standardGbMonth,
    measured: `${fmt(sizes.quarantinedReadings)} readings quarantined of ${fmt(sizes.sentReadings)} (--bad-ratio ${options.badRatio}): ${fmt(quarantineGb, 1)} GB`,
  });

  // S3 requests: an object per batch (and a quarantine object when any), Firehose's, the curation's.
  const rawBytesPerSecond = (rate / readingsPerRecord) * recordBytes;
  const firehoseObjectsPerSecond =
    rate > 0
      ? Math.max(
          1 / Math.max(config.rawBufferIntervalSeconds, 1),
          rawBytesPerSecond / (config.rawBufferSizeMiB * 1024 * 1024),
        )
      : 0;
  const quarantineObjectsPerSecond = (sizes.quarantineObjects / sizes.batches) * batchesPerSecond;
  const csvObjectsPerSecond = (sizes.csvObjects / sizes.batches) * batchesPerSecond;
  const curationPutsPerMonth = config.curation && rate > 0 ? 24 * 30 * 2 : 0; // the Parquet and the query result
  const putsPerMonth =
    (csvObjectsPerSecond + quarantineObjectsPerSecond + firehoseObjectsPerSecond) * SECONDS_PER_MONTH +
    curationPutsPerMonth;
  // The curation reads the closed hour and the one before: each CSV object twice.
  const getsPerMonth = config.curation ? csvObjectsPerSecond * SECONDS_PER_MONTH * 2 : 0;
  add({
    name: 'S3: requests',
    monthlyUsd: (putsPerMonth / 1000) * s3.putPerThousand + (getsPerMonth / 1000) * s3.getPerThousand,
    measured: `${fmt(putsPerMonth / 1e6, 2)} million PUTs (a CSV object per batch, ${fmt(sizes.csvObjects / sizes.batches, 2)} per batch measured; Firehose every ${config.rawBufferIntervalSeconds} s or ${config.rawBufferSizeMiB} MiB; the curation's), ${fmt(getsPerMonth / 1e6, 2)} million GETs (the curation reads each CSV object twice)`,
  });

  // Firehose: every input record, rounded up to 5 KB.
  const f = PRICES.firehose;
  const billedRecordBytes = Math.ceil(recordBytes / f.recordRoundingBytes) * f.recordRoundingBytes;
  const firehoseGb = ((rate / readingsPerRecord) * billedRecordBytes * SECONDS_PER_MONTH) / GB;
  add({
    name: 'Firehose: ingestion',
    monthlyUsd: firehoseGb * f.ingestedGb,
    measured: `${fmt(recordBytes / readingsPerRecord, 1)} bytes a reading as sent (records rounded up to 5 KB): ${fmt(firehoseGb)} GB a month`,
  });

  // Athena: the hourly curation, and a stated pattern of queries.
  const a = PRICES.athena;
  const hourCsvBytes = csvPerReading * validPerSecond * 3_600;
  const hourParquetBytes = parquetPerReading * validPerSecond * 3_600;
  const scan = (bytes: number) => Math.max(bytes, a.minimumScanBytes);
  const curationScan =
    config.curation && rate > 0
      ? 24 * 30 * (scan(2 * hourCsvBytes) + scan(hourCsvBytes + hourParquetBytes))
      : 0;
  const queryScan =
    ATHENA_QUERIES_PER_MONTH *
    scan(hourParquetBytes * 24 * (config.curation ? 1 : csvPerReading / Math.max(parquetPerReading, 1e-9)));
  add({
    name: 'Athena',
    monthlyUsd: ((curationScan + queryScan) / 1024 ** 4) * a.scannedTb,
    measured: `the hourly curation (2 hours of CSV, then the count check over the hour's CSV and Parquet: ${fmt((2 * hourCsvBytes) / 1e6)} MB + ${fmt((hourCsvBytes + hourParquetBytes) / 1e6)} MB a run) and ${ATHENA_QUERIES_PER_MONTH} queries a month over a day of ${config.curation ? 'curated data' : 'CSV'} (${fmt((hourParquetBytes * 24) / 1e6)} MB each at most)`,
  });

  // CloudWatch.
  const cw = PRICES.cloudwatch;
  const metrics = sizes.transformMetrics + Object.keys(ALERTER_METRICS).length;
  add({
    name: 'CloudWatch: custom metrics',
    monthlyUsd: rate > 0 ? metrics * cw.metricMonth : 0,
    measured: `${metrics} metrics (the transform's ${sizes.transformMetrics}, ${options.equipment} equipment, and the alerter's), published only while readings flow`,
  });
  const alarmMetrics = Object.keys(ALARM_NAMES).length + 1 + (config.curation ? 1 : 0);
  add({
    name: 'CloudWatch: alarms',
    monthlyUsd: alarmMetrics * cw.alarmMetricMonth,
    idleUsd: alarmMetrics * cw.alarmMetricMonth,
    measured: `${Object.keys(ALARM_NAMES).length} ops alarms (the quarantine rate watches 2 metrics)${config.curation ? ' and the curation failure alarm' : ''}`,
  });
  add({
    name: 'CloudWatch: dashboard',
    monthlyUsd: cw.dashboardMonth,
    idleUsd: cw.dashboardMonth,
    measured: "one dashboard (free if it is among the account's first 3)",
  });
  const logGbPerMonth = (sizes.logBytesPerBatch * batchesPerMonth) / GB;
  add({
    name: 'CloudWatch: logs',
    monthlyUsd:
      logGbPerMonth * cw.logsIngestedGb +
      logGbPerMonth * (config.logRetentionDays / 30) * cw.logsStoredGbMonth,
    measured: `${fmt(sizes.logBytesPerBatch)} bytes a batch (its metrics records and batch line, printed by Powertools): ${fmt(logGbPerMonth, 1)} GB a month, kept ${config.logRetentionDays} days`,
  });

  // SNS: an alert per episode, at most one per equipment per quiet period, within the topic's budget.
  const sn = PRICES.sns;
  const onsetsPerSecond = sizes.onsets / sizes.seconds;
  const alertsPerSecond =
    rate > 0
      ? Math.min(
          onsetsPerSecond,
          options.equipment / config.alertQuietPeriodSeconds,
          config.alertBudgetPerMinute / 60,
        )
      : 0;
  const alertsPerMonth = alertsPerSecond * SECONDS_PER_MONTH;
  add({
    name: 'SNS: alerts',
    monthlyUsd:
      (alertsPerMonth * sn.publishPerMillion) / 1e6 + (alertsPerMonth * sn.emailPerHundredThousand) / 1e5,
    measured: `${fmt(alertsPerMonth)} alerts a month (${fmt(onsetsPerSecond * 60, 1)} anomaly onsets a minute measured, at most one per equipment per ${config.alertQuietPeriodSeconds} s, ${config.alertBudgetPerMinute} a minute), one e-mail subscription`,
  });
  add({
    name: 'SQS: dead-letter queues',
    monthlyUsd: 0,
    measured: 'written only when a batch fails for good; none at steady state',
  });
  const transitions = config.curation && rate > 0 ? 24 * 30 * CURATION_TRANSITIONS : 0;
  const sf = PRICES.stepFunctions;
  add({
    name: 'Step Functions and EventBridge: hourly curation',
    monthlyUsd: (Math.max(0, transitions - sf.freeTransitionsPerMonth) / 1000) * sf.transitionPerThousand,
    measured: config.curation
      ? `720 executions of about ${CURATION_TRANSITIONS} state transitions (4,000 a month free); the EventBridge schedule rule is free`
      : 'curation off',
  });
  add({
    name: 'KMS: one customer managed key',
    monthlyUsd: PRICES.kms.keyMonth,
    idleUsd: PRICES.kms.keyMonth,
    measured: "the functions' and queues' key",
  });

  // The simulator stack.
  const sim = s.simulator;
  const instanceHour = PRICES.ec2.instanceHour[sim.simulatorInstanceType];
  if (instanceHour === undefined)
    throw new Error(`no price in cost/prices.ts for the instance type ${sim.simulatorInstanceType}`);
  const ec2Usd = HOURS_PER_MONTH * (instanceHour + PRICES.ec2.publicIpv4Hour) + 8 * PRICES.ec2.gp3GbMonth;
  add({
    name: `EC2 simulator: ${sim.simulatorInstanceType}, 8 GiB gp3, public IPv4`,
    monthlyUsd: ec2Usd,
    idleUsd: ec2Usd,
    simulator: true,
    measured: 'around the clock, idle or not, until the SensorSimulator stack is destroyed',
  });

  // Storage at its steady state is still billed after the readings stop, until it expires.
  for (const item of items) {
    if (
      (item.name.startsWith('S3: ') && item.name !== 'S3: requests') ||
      item.name.startsWith('DynamoDB: storage')
    ) {
      item.storage = true;
      item.idleUsd = item.monthlyUsd;
    }
  }
  const idleOf = (keep: (item: LineItem) => boolean) =>
    round2(items.filter(keep).reduce((sum, item) => sum + item.idleUsd, 0));
  const idleUsd = idleOf((item) => !item.simulator && !item.storage);
  const total = items.reduce((sum, item) => sum + item.monthlyUsd, 0);
  const simulatorUsd = items.filter((item) => item.simulator).reduce((sum, item) => sum + item.monthlyUsd, 0);
  const other: Billing = options.billing === 'on-demand' ? 'provisioned' : 'on-demand';
  const modeUsd = (billing: Billing) =>
    writesUsd(totalUnits, billing) +
    (billing === 'provisioned' ? config.tableReadCapacity * HOURS_PER_MONTH * d.provisionedRcuHour : 0);
  const recommendedBilling: Billing =
    modeUsd('provisioned') < modeUsd('on-demand') ? 'provisioned' : 'on-demand';
  return {
    region: PRICES_REGION,
    pricesDate: PRICES_DATE,
    rate,
    equipment: options.equipment,
    billing: options.billing,
    lakeDays,
    curatedDays,
    monthlyUsd: round2(total),
    withoutSimulatorUsd: round2(total - simulatorUsd),
    idleUsd,
    idleStorageUsd: idleOf((item) => item.storage === true),
    idleSimulatorUsd: idleOf((item) => item.simulator === true),
    targets: {
      withoutSimulatorUsd: {
        limit: TARGET_WITHOUT_SIMULATOR_USD,
        met: total - simulatorUsd <= TARGET_WITHOUT_SIMULATOR_USD,
      },
      idleUsd: { limit: TARGET_IDLE_USD, met: idleUsd <= TARGET_IDLE_USD },
    },
    recommendedBilling,
    otherBillingUsd: round2(total - simulatorUsd - modeUsd(options.billing) + modeUsd(other)),
    lineItems: items,
    measuredSizes: {
      readingsMeasured: sizes.readings,
      recordBytes: Math.round(recordBytes),
      documentBytesPer1000: Math.round((sizes.documentBytes / sizes.readings) * 1000),
      documentWriteUnitsPer1000: round2((sizes.documentWriteUnits / sizes.readings) * 1000),
      windowWriteUnitsPer1000: round2((sizes.windowWriteUnits / sizes.readings) * 1000),
      csvBytesPerReading: round2(perValid(sizes.csvBytes)),
      csvGzipBytesPerReading: round2(csvPerReading),
      parquetBytesPerReading: round2(parquetPerReading),
      rawGzipBytesPerReading: round2(rawPerReading),
      stateItemBytes: sizes.stateItemBytes,
      logBytesPerBatch: sizes.logBytesPerBatch,
      ...(sizes.cpuMsPer1000 !== undefined ? { cpuMsPer1000: round2(sizes.cpuMsPer1000) } : {}),
    },
  };
}

/** The rate (readings/s) above which provisioned writes cost less than on demand, by bisection. */
export function crossoverRate(sizes: MeasuredSizes, s: Settings, options: CostOptions): number | undefined {
  const writes = (rate: number, billing: Billing) => {
    const report = costReport({ ...options, rate, billing }, sizes, s);
    return report.lineItems
      .filter(
        (item) =>
          item.name.startsWith('DynamoDB: writes') ||
          item.name.startsWith('DynamoDB: the detector') ||
          item.name === 'DynamoDB: reads',
      )
      .reduce((sum, item) => sum + item.monthlyUsd, 0);
  };
  let low = 1;
  let high = 1_000_000;
  if (writes(high, 'provisioned') >= writes(high, 'on-demand')) return undefined;
  if (writes(low, 'provisioned') < writes(low, 'on-demand')) return low;
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (writes(mid, 'provisioned') < writes(mid, 'on-demand')) high = mid;
    else low = mid;
  }
  return Math.round(high);
}
