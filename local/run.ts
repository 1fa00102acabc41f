import { writeFileSync } from 'node:fs';
import { type DashboardServer, startDashboardServer } from '../dashboard/server';
import { runSimulator } from '../simulator/run';
import { LocalPipelineSource, type RunProgressCounters } from './dashboard-source';
import { writeLocalEndpoints } from './endpoints-file';
import { LOCAL_NAMES } from './names';
import { LocalPipeline } from './pipeline';
import { readBackCounts, type StoredCounts } from './read-back';

/**
 * `npm start`: the local pipeline fed by the simulator, with the dashboard, until Ctrl-C; or, with
 * --count or --duration, until every reading sent is processed, archived and alerted on, and then a
 * report of what the services hold.
 */

export interface LocalRunOptions {
  count?: number;
  durationSeconds?: number;
  rate: number;
  seed: number;
  badRatio: number;
  equipment?: number[];
  dataDir?: string;
  /** Shards of the input stream (the stack's default is 1). */
  shards?: number;
  dashboard: boolean;
  port: number;
  reportFile?: string;
  quiet: boolean;
  out: (line: string) => void;
  /** Ctrl-C: stop sending, and stop. */
  signal: AbortSignal;
}

export interface LocalRunReport extends StoredCounts {
  sent: number;
  /** Malformed readings the simulator injected (--bad-ratio). */
  malformedSent: number;
  alerts: number;
  latencyMs: { p50: number; p99: number; max: number };
  readingsPerSec: number;
  seed: number;
  rate: number;
  elapsedSeconds: number;
  /**
   * With --data-dir: what an earlier run left undone (records it put on the stream and was stopped,
   * killed say, before processing, archiving or alerting on) added to the services when this run
   * processed it, before sending. Not part of this run's counts above.
   */
  backlog?: Backlog;
  /** What does not add up; empty when nothing was lost or duplicated. */
  problems: string[];
}

export interface Backlog extends StoredCounts {
  alerts: number;
}

export async function runLocal(options: LocalRunOptions): Promise<LocalRunReport | undefined> {
  const { out } = options;
  const bounded = options.count !== undefined || options.durationSeconds !== undefined;
  // With --data-dir the services may hold earlier runs' data: this run reports what it added.
  let storedAtStart: StoredCounts | undefined;
  const pipeline = await LocalPipeline.start({
    dataDir: options.dataDir,
    beforeConsumers:
      options.dataDir && bounded
        ? async (clients) => {
            storedAtStart = await readBackCounts(clients);
          }
        : undefined,
    inputShards: options.shards,
    handlerLogLevel: 'WARN',
    onAlert: (message) => out(`ALERT ${message.subject}`),
    log: options.quiet ? undefined : out,
  });
  const progress: RunProgressCounters = { sent: 0 };
  let dashboard: DashboardServer | undefined;
  let removeEndpoints = () => {};
  let ticker: NodeJS.Timeout | undefined;
  try {
    if (options.dashboard) {
      dashboard = await startDashboardServer({
        source: new LocalPipelineSource(pipeline, progress),
        port: options.port,
      });
    }
    removeEndpoints = writeLocalEndpoints({
      region: pipeline.services.region,
      ...pipeline.services.endpoints,
      tableName: LOCAL_NAMES.table,
      inputStream: LOCAL_NAMES.inputStream,
      anomaliesStream: LOCAL_NAMES.anomaliesStream,
      processedBucket: LOCAL_NAMES.processedBucket,
      rawBucket: LOCAL_NAMES.rawBucket,
      dashboard: dashboard?.url,
    });
    out(`Local pipeline running${options.dataDir ? ` (data in ${options.dataDir})` : ' (in memory)'}.`);
    if (dashboard) out(`Dashboard: ${dashboard.url}`);
    out(
      `Simulator: ${options.rate} readings/s, seed ${options.seed}${options.badRatio ? `, bad ratio ${options.badRatio}` : ''}. Ctrl-C to stop.`,
    );
    if (!options.quiet) ticker = setInterval(() => out(statusLine(pipeline, progress)), 5_000);

    // An earlier run's backlog is processed first, so it neither counts as this run's nor hides a loss.
    let storedBefore: StoredCounts | undefined;
    let backlog: Backlog | undefined;
    if (storedAtStart) {
      await pipeline.drain();
      storedBefore = await readBackCounts(pipeline.clients);
      backlog = {
        ...subtractCounts(storedBefore, storedAtStart),
        alerts: pipeline.services.sns.messages.length,
      };
      if (backlogReadings(backlog) > 0)
        out(
          `Processed first ${backlogReadings(backlog)} readings an earlier run left on the stream (not counted as this run's).`,
        );
    }
    const startedMs = Date.now();
    const summary = await runSimulator({
      kinesis: pipeline.clients.kinesis,
      streamName: LOCAL_NAMES.inputStream,
      seed: options.seed,
      rate: options.rate,
      count: options.count,
      durationSeconds: options.durationSeconds,
      equipment: options.equipment,
      badRatio: options.badRatio,
      signal: options.signal,
      onRecordSent: (record) => {
        progress.sent += record.readings;
        if (record.sequenceNumber)
          pipeline.latency.recordSent(record.sequenceNumber, record.sentMs, record.readings);
      },
      onThrottle: (notice) =>
        out(`Kinesis throttled the simulator: slowing to ${Math.round(notice.readingsPerSecond)} readings/s`),
    });
    if (!bounded || options.signal.aborted) {
      if (!options.signal.aborted)
        await new Promise((resolve) => options.signal.addEventListener('abort', resolve, { once: true }));
      return undefined;
    }

    out(
      `Sent ${summary.sent} readings; waiting for the pipeline to process, archive and alert on all of them...`,
    );
    await pipeline.drain();
    const counts = subtractCounts(await readBackCounts(pipeline.clients), storedBefore);
    const latency = pipeline.latency.percentiles();
    const processingSeconds = (pipeline.latency.lastProcessedMs - pipeline.latency.firstSentMs) / 1000;
    const report: LocalRunReport = {
      sent: summary.sent,
      malformedSent: summary.malformed,
      ...counts,
      alerts: pipeline.services.sns.messages.length - (backlog?.alerts ?? 0),
      latencyMs: latency,
      readingsPerSec: processingSeconds > 0 ? Math.round(summary.sent / processingSeconds) : 0,
      seed: options.seed,
      rate: options.rate,
      elapsedSeconds: Math.round((Date.now() - startedMs) / 100) / 10,
      backlog,
      problems: [],
    };
    report.problems = checkReport(report);
    if (options.reportFile) writeFileSync(options.reportFile, `${JSON.stringify(report, null, 2)}\n`);
    out(summaryLines(report));
    return report;
  } finally {
    if (ticker) clearInterval(ticker);
    removeEndpoints();
    await dashboard?.close();
    await pipeline.stop();
  }
}

function subtractCounts(after: StoredCounts, before: StoredCounts | undefined): StoredCounts {
  if (!before) return after;
  const delta = { ...after };
  for (const key of Object.keys(after) as (keyof StoredCounts)[]) delta[key] = after[key] - before[key];
  return delta;
}

/** Everything sent is accounted for exactly once, or the report says what is not. */
export function checkReport(report: LocalRunReport): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  expect(
    report.valid + report.quarantined === report.sent,
    `valid (${report.valid}) + quarantined (${report.quarantined}) != sent (${report.sent})`,
  );
  expect(
    report.quarantined === report.malformedSent,
    `quarantined (${report.quarantined}) != malformed readings sent (${report.malformedSent})`,
  );
  expect(
    report.csvRows === report.valid,
    `CSV rows (${report.csvRows}) != distinct readings in the CSV lake (${report.valid})`,
  );
  expect(
    report.dynamoReadings === report.valid,
    `readings in DynamoDB (${report.dynamoReadings}) != valid (${report.valid})`,
  );
  expect(
    report.archivedReadings === report.sent,
    `archived readings (${report.archivedReadings}) != sent (${report.sent})`,
  );
  expect(report.deadLettered === 0, `${report.deadLettered} records went to the dead-letter destination`);
  return problems;
}

function statusLine(pipeline: LocalPipeline, progress: RunProgressCounters): string {
  const { transform, services } = pipeline;
  return `sent ${progress.sent} readings · transformed ${transform.stats.recordsProcessed} records · alerts ${services.sns.messages.length}`;
}

/** Readings an earlier run left that this one stored, in the lake or the quarantine, or archived. */
function backlogReadings(backlog: Backlog): number {
  return Math.max(backlog.valid + backlog.quarantined, backlog.archivedReadings, backlog.dynamoReadings);
}

function backlogLine(backlog: Backlog): string {
  return (
    `plus ${backlogReadings(backlog)} readings from before this run, processed now (an earlier run left them ` +
    `on the stream): valid ${backlog.valid} · quarantined ${backlog.quarantined} · archived ` +
    `${backlog.archivedReadings} · anomalies ${backlog.anomalies} · alerts ${backlog.alerts}` +
    `${backlog.deadLettered ? ` · dead-lettered ${backlog.deadLettered}` : ''}; not counted in this run's figures`
  );
}

function summaryLines(report: LocalRunReport): string {
  const lines = [
    `sent ${report.sent} (malformed ${report.malformedSent}) · valid ${report.valid} · quarantined ${report.quarantined}`,
    `CSV rows ${report.csvRows} · DynamoDB readings ${report.dynamoReadings} · archived ${report.archivedReadings}`,
    `anomalies ${report.anomalies} · alerts ${report.alerts} · dead-lettered ${report.deadLettered}`,
    `latency p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms · ${report.readingsPerSec} readings/s`,
    ...(report.backlog && backlogReadings(report.backlog) > 0 ? [backlogLine(report.backlog)] : []),
    report.problems.length === 0
      ? 'Every reading accounted for.'
      : `PROBLEMS:\n  ${report.problems.join('\n  ')}`,
  ];
  return lines.join('\n');
}
