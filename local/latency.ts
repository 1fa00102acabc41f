import type { ShardRecord } from './shard-reader';

/**
 * End-to-end latency, per reading: from the moment the simulator's PutRecords for its record returned
 * to the moment the transform finished that record (its documents written to DynamoDB).
 */
export class LatencyTracker {
  private readonly sent = new Map<string, { sentMs: number; readings: number }>();
  private readonly samples: { latencyMs: number; readings: number }[] = [];
  firstSentMs = Number.POSITIVE_INFINITY;
  lastProcessedMs = 0;

  recordSent(sequenceNumber: string, sentMs: number, readings: number): void {
    this.sent.set(sequenceNumber, { sentMs, readings });
    if (sentMs < this.firstSentMs) this.firstSentMs = sentMs;
  }

  processed(records: readonly ShardRecord[], completedMs: number): void {
    for (const record of records) {
      const sent = this.sent.get(record.SequenceNumber);
      if (!sent) continue;
      this.sent.delete(record.SequenceNumber);
      this.samples.push({ latencyMs: completedMs - sent.sentMs, readings: sent.readings });
      if (completedMs > this.lastProcessedMs) this.lastProcessedMs = completedMs;
    }
  }

  /** Latency percentiles weighted by readings (a record of 1,000 readings counts 1,000 times). */
  percentiles(): { p50: number; p99: number; max: number } {
    if (this.samples.length === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = [...this.samples].sort((a, b) => a.latencyMs - b.latencyMs);
    const total = sorted.reduce((n, s) => n + s.readings, 0);
    const at = (fraction: number) => {
      let seen = 0;
      for (const sample of sorted) {
        seen += sample.readings;
        if (seen >= fraction * total) return sample.latencyMs;
      }
      return sorted[sorted.length - 1].latencyMs;
    };
    return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1].latencyMs };
  }
}
