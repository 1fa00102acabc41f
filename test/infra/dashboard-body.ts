import type { Json } from './helpers';

/**
 * Reading a synthesized dashboard and what the handlers emit: the dashboard body (a Fn::Join in the
 * template, resolved to JSON with a placeholder for each token), its metrics, and the metrics of the
 * embedded-metric-format lines a handler prints.
 */

export const refPlaceholder = (logicalId: string) => `{{Ref:${logicalId}}}`;
export const attPlaceholder = (logicalId: string, attribute: string) =>
  `{{GetAtt:${logicalId}.${attribute}}}`;

/** A template string value: a literal, or a Fn::Join of literals, Refs and GetAtts (as placeholders). */
export function resolveString(value: Json): string {
  if (typeof value === 'string') return value;
  if (value?.Ref) return refPlaceholder(value.Ref);
  if (value?.['Fn::GetAtt']) return attPlaceholder(value['Fn::GetAtt'][0], value['Fn::GetAtt'][1]);
  if (value?.['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return (parts as Json[]).map(resolveString).join(separator);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** A metric as a widget or an alarm names it: namespace, name, dimensions and options. */
export interface WidgetMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  options: Json;
}
export interface WidgetExpression {
  expression: string;
  options: Json;
}

/** Reads a widget's `metrics` array: `[namespace, name, dim, value, ..., {options}]` or `[{expression}]`. */
export function readSeries(entries: Json[][]): { metrics: WidgetMetric[]; expressions: WidgetExpression[] } {
  const metrics: WidgetMetric[] = [];
  const expressions: WidgetExpression[] = [];
  for (const entry of entries) {
    const last = entry[entry.length - 1];
    const options = typeof last === 'object' ? last : {};
    const fields = (typeof last === 'object' ? entry.slice(0, -1) : entry) as string[];
    if (fields.length === 0) {
      expressions.push({ expression: options.expression, options });
      continue;
    }
    const [namespace, name, ...pairs] = fields;
    expect(pairs.length % 2).toBe(0);
    const dimensions: Record<string, string> = {};
    for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
    metrics.push({ namespace, name, dimensions, options });
  }
  return { metrics, expressions };
}

/** The dashboard resource's name, widgets, metric widgets (with their series) and metrics. */
export function dashboardBody(json: Json, dashboardId: string) {
  const resource = json.Resources[dashboardId];
  const body = JSON.parse(resolveString(resource.Properties.DashboardBody));
  const widgets: Json[] = body.widgets;
  const metricWidgets = widgets
    .filter((w) => w.type === 'metric')
    .map((w) => ({ widget: w, ...readSeries(w.properties.metrics) }));
  return {
    name: resource.Properties.DashboardName as string,
    widgets,
    metricWidgets,
    metrics: metricWidgets.flatMap((w) => w.metrics),
  };
}

export const describeMetric = (m: Pick<WidgetMetric, 'namespace' | 'name' | 'dimensions'>) =>
  `${m.namespace} ${m.name} ${Object.entries(m.dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;

export interface EmittedMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

export function parseEmf(line: string): EmittedMetric[] {
  let document: Json;
  try {
    document = JSON.parse(line);
  } catch {
    return [];
  }
  if (!document?._aws) return [];
  return (document._aws.CloudWatchMetrics as Json[]).flatMap((directive) =>
    (directive.Dimensions as string[][]).flatMap((dimensionSet) =>
      (directive.Metrics as Json[]).map((metric) => ({
        namespace: directive.Namespace,
        name: metric.Name,
        dimensions: Object.fromEntries(dimensionSet.map((key) => [key, String(document[key])])),
      })),
    ),
  );
}

/** The Lambda environment of a function in the template, tokens as placeholders. */
export function environmentOf(json: Json, functionId: string): Record<string, string> {
  const variables = json.Resources[functionId].Properties.Environment.Variables as Record<string, Json>;
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolveString(v)]));
}
