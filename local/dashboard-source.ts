import type {
  AlertSummary,
  AlertsQuery,
  DashboardSnapshot,
  DashboardSource,
  Paged,
  ReadingsQuery,
  SnapshotQuery,
} from '../dashboard/snapshot';
import { TableSource } from '../dashboard/table-source';
import { ALERT_KIND } from '../lambdas/shared/episodes';
import type { ReadingRow } from '../lambdas/shared/processed-reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { LOCAL_NAMES } from './names';
import type { LocalPipeline } from './pipeline';

/** Counts the local run knows of as it goes (the report reads them back from the services instead). */
export interface RunProgressCounters {
  sent: number;
}

/**
 * The dashboard of `npm start`: the readings table's window, alerts and detector bands as for a
 * deployed stack, and the pipeline's running counters. The alert history and the readings between two
 * times are the table's.
 */
export class LocalPipelineSource implements DashboardSource {
  private readonly table: TableSource;

  constructor(
    private readonly pipeline: LocalPipeline,
    private readonly progress: RunProgressCounters,
    /** The reading schema the pipeline runs with: its features are charted. */
    private readonly schema: ReadingSchema = LAB_SCHEMA,
  ) {
    this.table = new TableSource(pipeline.clients.documents, LOCAL_NAMES.table, { target: 'local', schema });
  }

  get readingSchema(): ReadingSchema {
    return this.schema;
  }

  alertHistory(query: AlertsQuery, pageSize: number): Promise<Paged<AlertSummary>> {
    return this.table.alertHistory(query, pageSize);
  }

  readingsBetween(query: ReadingsQuery): AsyncIterable<ReadingRow[]> {
    return this.table.readingsBetween(query);
  }

  async snapshot(query: SnapshotQuery = {}): Promise<DashboardSnapshot> {
    const snapshot = await this.table.snapshot(query);
    const { transform, alerter, services } = this.pipeline;
    // The alerts are episodes; a budget summary (many equipment at once) is counted apart.
    const summaries = services.sns.messages.filter(
      (m) => m.attributes.kind === ALERT_KIND.budgetSummary,
    ).length;
    return {
      ...snapshot,
      counters: [
        { name: 'readings sent', value: this.progress.sent },
        { name: 'records transformed', value: transform.stats.recordsProcessed },
        { name: 'alerts sent', value: services.sns.messages.length - summaries },
        { name: 'alert summaries (budget reached)', value: summaries },
        {
          name: 'dead-lettered records',
          value: transform.stats.recordsDeadLettered + alerter.stats.recordsDeadLettered,
        },
        ...snapshot.counters,
      ],
    };
  }
}
