import { curatedPrefix, readingsPrefix } from '../../lambdas/shared/object-keys';
import type { ReadingSchema } from '../../lambdas/shared/reading-schema';

/**
 * The files of `sql/` are templates of the reading schema: what depends on it (the CSV lake's feature
 * columns and equipment_id type, its location, the views' and queries' feature lists, the raw
 * readings' JSON fields) is written once, and expanded here for the deployment's schema, by the stack
 * and by the DuckDB tests alike. For the lab's schema the expansion is the SQL the project always had.
 *
 * The syntax is a small subset of Mustache, in double braces so it never meets the `${...}` the stack
 * substitutes (`${PROCESSED_BUCKET}`) or Athena's partition projection reads (`${dt}`):
 * - `{{name}}` is a value (the names are those of `sqlTemplateValues`);
 * - `{{#name}}...{{/name}}` repeats its body for each item of a list (`features`, each item's values
 *   shadowing the outer ones), or keeps it when a flag is true;
 * - `{{^name}}...{{/name}}` keeps its body when a flag is false or a list empty (`{{^last}},{{/last}}`:
 *   a comma after every feature but the last);
 * - a line holding nothing but a section tag is dropped whole (as in Mustache), so sections can open
 *   and close on lines of their own without leaving blank lines.
 * Values are inserted as they are: every one is SQL-safe by construction (column names of the schema's
 * validated form, quoted JSON paths).
 */

type TemplateValue = string | boolean | TemplateScope[];
export interface TemplateScope {
  [name: string]: TemplateValue;
}

/** A JSON field name as a JSON path inside an SQL string literal: `$.equipment_id`, or `$["Volume Flow"]`. */
export function jsonPathOf(field: string): string {
  const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(field)
    ? `$.${field}`
    : `$["${field.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"]`;
  return path.replaceAll("'", "''");
}

/**
 * Athena's reserved keywords: those of its DDL (Hive's) and of its SELECT statements (Trino's). A feature
 * may be named like one (SKAB's `current`): it is then quoted, in backticks in DDL and in double quotes
 * in queries, as Athena asks (https://docs.aws.amazon.com/athena/latest/ug/reserved-words.html).
 */
export const ATHENA_RESERVED_WORDS: ReadonlySet<string> = new Set(
  `all alter and array as authorization between bigint binary boolean both by case cashe cast char column
  conf constraint commit create cross cube current current_catalog current_date current_path current_role
  current_schema current_time current_timestamp current_user cursor database date dayofweek deallocate
  decimal delete describe distinct div double drop else end escape except exchange execute exists extended
  external extract false fetch first float floor following for foreign from full function grant group
  grouping having if import in inner insert int integer intersect interval into is join json_array
  json_exists json_object json_query json_table json_value last lateral left less like listagg local
  localtime localtimestamp macro map more natural none normalize not null numeric of on only or order out
  outer over partialscan partition percent preceding precision prepare preserve primary procedure range
  reads recursive reduce references regexp revoke right rlike rollback rollup row rows select set skip
  smallint start table tablesample then time timestamp to transform trigger trim true truncate uescape
  unbounded unescape union uniquejoin unnest update user using utc_timestamp values varchar views when
  where window with`.split(/\s+/),
);

const reserved = (name: string) => ATHENA_RESERVED_WORDS.has(name.toLowerCase());
/** A column name as an identifier of Athena's DDL. */
const ddlIdentifier = (name: string) => (reserved(name) ? `\`${name}\`` : name);
/** A column name as an identifier of Athena's queries. */
const queryIdentifier = (name: string) => (reserved(name) ? `"${name}"` : name);

/** An optional feature's text cell as a number: NULL when the reading left it out. */
const featureValue = (name: string) => `CAST(NULLIF(${queryIdentifier(name)}, '') AS DOUBLE)`;

/** What the templates of `sql/` may name, for a reading schema. */
export function sqlTemplateValues(schema: ReadingSchema): TemplateScope {
  const integerIds = schema.equipment.type === 'integer';
  return {
    /** Whether the schema has the lab's layout (its objects are under readings/, unversioned). */
    lab: schema.isLab,
    schema_id: schema.id,
    /** Where the CSV objects are, under the bucket: `readings/` or `readings/<name>-v<version>/`. */
    readings_prefix: readingsPrefix(schema),
    /** Where the curated Parquet is, under the bucket: `curated/` or `curated/<name>-v<version>/`. */
    curated_prefix: curatedPrefix(schema),
    /** equipment_id's type in the CSV table: INT for integer ids, STRING for string ids. */
    equipment_type: integerIds ? 'INT' : 'STRING',
    integer_ids: integerIds,
    string_ids: !integerIds,
    /**
     * equipment_id as the producer sent it, read from processed_readings: a string id is text the CSV
     * neutralises as it does every text cell (a ' before one a spreadsheet would run), so it loses it.
     */
    equipment_value: integerIds ? 'equipment_id' : "regexp_replace(equipment_id, '^''', '')",
    /** JSON paths of the equipment and timestamp fields in a raw reading. */
    equipment_path: jsonPathOf(schema.equipment.field),
    timestamp_path: jsonPathOf(schema.timestamp.field),
    /** Whether a feature is optional (its column is then STRING: see `type`). */
    optional_features: schema.features.some((feature) => feature.optional),
    /** The features as DOUBLE columns of a SELECT over processed_readings, comma-separated, in order. */
    feature_list: schema.features
      .map((f) =>
        f.optional ? `${featureValue(f.name)} AS ${queryIdentifier(f.name)}` : queryIdentifier(f.name),
      )
      .join(', '),
    /** The features as columns of a query over curated_readings (all DOUBLE there), comma-separated. */
    feature_columns: schema.features.map((f) => queryIdentifier(f.name)).join(', '),
    features: schema.features.map((feature, i) => ({
      /** The name as it is, for derived names (avg_{{name}}). */
      name: feature.name,
      /** The name as a column of the DDL (`current` in backticks), and of a query ("current"). */
      ddl_column: ddlIdentifier(feature.name),
      column: queryIdentifier(feature.name),
      /**
       * The column's type in processed_readings: DOUBLE, or STRING for an optional feature, whose cell
       * is empty when a reading left it out: Athena's OpenCSVSerde reads no empty cell as a number (the
       * query fails), so the views read it as text and give it as DOUBLE, NULL when left out.
       */
      type: feature.optional ? 'STRING' : 'DOUBLE',
      /** The feature as a DOUBLE, read from processed_readings. */
      value: feature.optional ? featureValue(feature.name) : queryIdentifier(feature.name),
      optional: feature.optional,
      /** The lab's views name their columns in capitals ("TEMPERATURE"). */
      upper_name: feature.name.toUpperCase(),
      /** The feature's JSON path in a raw reading (features are sent under their names). */
      path: jsonPathOf(feature.name),
      first: i === 0,
      last: i === schema.features.length - 1,
    })),
  };
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; name: string; at: number }
  | { kind: 'section'; name: string; inverted: boolean; children: Node[]; at: number };

const TAG = /\{\{\s*([#^/]?)\s*([a-z_][a-z0-9_]*)\s*\}\}/g;

/** Line and column of an offset, for errors. */
function position(text: string, at: number): string {
  const before = text.slice(0, at).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function parse(template: string): Node[] {
  const root: Node[] = [];
  const stack: { name: string; children: Node[]; at: number }[] = [{ name: '', children: root, at: 0 }];
  let last = 0;
  const text = (upTo: number) => {
    const chunk = template.slice(last, upTo);
    const stray = chunk.search(/\{\{|\}\}/);
    if (stray >= 0)
      throw new Error(`${position(template, last + stray)}: not a template tag ({{name}}, {{#name}}, ...)`);
    if (chunk !== '') stack[stack.length - 1].children.push({ kind: 'text', text: chunk });
  };
  for (const match of template.matchAll(TAG)) {
    const at = match.index;
    const end = at + match[0].length;
    const [, sigil, name] = match;
    // A section tag alone on its line takes the line with it.
    const lineStart = template.lastIndexOf('\n', at - 1) + 1;
    const lineEnd = template.indexOf('\n', end);
    const standalone =
      sigil !== '' &&
      lineStart >= last &&
      /^[ \t]*$/.test(template.slice(lineStart, at)) &&
      /^[ \t]*\r?$/.test(template.slice(end, lineEnd < 0 ? template.length : lineEnd));
    text(standalone ? lineStart : at);
    last = standalone ? (lineEnd < 0 ? template.length : lineEnd + 1) : end;
    const children = stack[stack.length - 1].children;
    if (sigil === '') {
      children.push({ kind: 'value', name, at });
    } else if (sigil === '/') {
      const open = stack.pop();
      if (!open || stack.length === 0 || open.name !== name)
        throw new Error(`${position(template, at)}: {{/${name}}} closes no {{#${name}}}`);
    } else {
      const section: Node = { kind: 'section', name, inverted: sigil === '^', children: [], at };
      children.push(section);
      stack.push({ name, children: section.children, at });
    }
  }
  text(template.length);
  if (stack.length > 1) {
    const open = stack[stack.length - 1];
    throw new Error(`${position(template, open.at)}: {{#${open.name}}} is never closed`);
  }
  return root;
}

/** Expands a template with the values given (see above for the syntax); an unknown name is an error. */
export function expandTemplate(template: string, values: TemplateScope): string {
  const lookup = (scopes: TemplateScope[], name: string, at: number): TemplateValue => {
    for (let i = scopes.length - 1; i >= 0; i--) if (name in scopes[i]) return scopes[i][name];
    throw new Error(`${position(template, at)}: {{${name}}} is not a template value`);
  };
  const render = (nodes: Node[], scopes: TemplateScope[]): string =>
    nodes
      .map((node) => {
        if (node.kind === 'text') return node.text;
        const value = lookup(scopes, node.name, node.at);
        if (node.kind === 'value') {
          if (typeof value !== 'string')
            throw new Error(`${position(template, node.at)}: {{${node.name}}} is a section, not a value`);
          return value;
        }
        if (typeof value === 'string')
          throw new Error(`${position(template, node.at)}: {{${node.name}}} is a value, not a section`);
        const items = Array.isArray(value) ? value : value ? [{}] : [];
        if (node.inverted) return items.length === 0 ? render(node.children, scopes) : '';
        return items.map((item) => render(node.children, [...scopes, item])).join('');
      })
      .join('');
  return render(parse(template), [values]);
}

/** A file of `sql/` expanded for a reading schema. */
export function expandSql(template: string, schema: ReadingSchema): string {
  return expandTemplate(template, sqlTemplateValues(schema));
}
