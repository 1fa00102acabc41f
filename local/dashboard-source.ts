import type { AlertSummary, DashboardSnapshot, DashboardSource } from '../dashboard/snapshot';
import { TableSource } from '../dashboard/table-source';
import { ALERT_KIND } from '../lambdas/shared/episodes';
import type { EquipmentId } from '../lambdas/shared/reading';
import { LAB_SCHEMA, type ReadingSchema } from '../lambdas/shared/reading-schema';
import { LOCAL_NAMES } from './names';
import type { LocalPipeline } from './pipeline';

/** Counts the local run knows of as it goes (the report reads them back from the services instead). */
export interface RunProgressCounters {
  sent: number;
}

/**
 * The dashboard of `npm start`: the readings table's window as for a deployed stack, every alert the
 * SNS sink received (not only each equipment's current episode), and the pipeline's running counters.
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

  async snapshot(): Promise<DashboardSnapshot> {
    const snapshot = await this.table.snapshot();
    const { transform, alerter, services } = this.pipeline;
    // The alert list is of episodes; a budget summary (many equipment at once) is counted apart.
    const episodes = services.sns.messages.filter((m) => m.attributes.kind !== ALERT_KIND.budgetSummary);
    const summaries = services.sns.messages.length - episodes.length;
    const alerts = episodes
      .map((message) => toAlertSummary(message, this.schema))
      .reverse()
      .slice(0, 20);
    return {
      ...snapshot,
      alerts,
      counters: [
        { name: 'readings sent', value: this.progress.sent },
        { name: 'records transformed', value: transform.stats.recordsProcessed },
        { name: 'alerts sent', value: episodes.length },
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

export function toAlertSummary(
  message: { subject?: string; attributes: Record<string, string> },
  schema: ReadingSchema = LAB_SCHEMA,
): AlertSummary {
  const episodeId = message.attributes.episode_id ?? '';
  const equipmentId = message.attributes.equipment_id ?? '';
  return {
    // The episode id is `<equipment id>-<first anomaly's epoch ms>`; a string id may hold '-' itself.
    startedMs: Number(episodeId.split('-').pop()),
    equipmentId: (schema.equipment.type === 'integer' ? Number(equipmentId) : equipmentId) as EquipmentId,
    subject: message.subject ?? '',
    severity: (message.attributes.severity ?? 'low') as AlertSummary['severity'],
    features: JSON.parse(message.attributes.features ?? '[]') as string[],
    episodeId,
  };
}
