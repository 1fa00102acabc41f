import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { expandSql } from './sql-template';

/**
 * The SQL files of `sql/`, read at synth time so they are the single source of truth of the Glue
 * tables and the Athena named queries: each file holds one statement, after a comment saying what it
 * is. A `CREATE EXTERNAL TABLE` becomes a Glue table (its DDL parsed here), a `CREATE OR REPLACE VIEW`
 * and a `SELECT` (or `WITH`) each become a named query. Each file is first expanded for the reading
 * schema (sql-template.ts: `{{...}}`, the feature columns and lists, the equipment id's type, the
 * objects' prefix). Placeholders `${PROCESSED_BUCKET}`, `${RAW_BUCKET}` and `${DATABASE}` are then
 * replaced by the stack; anything else in `${...}` is left as it is (partition projection's `${dt}` and
 * `${hour}`).
 */

export const SQL_DIR = join(__dirname, '..', '..', 'sql');

export const SQL_PLACEHOLDERS = ['PROCESSED_BUCKET', 'RAW_BUCKET', 'DATABASE'] as const;
export type SqlPlaceholder = (typeof SQL_PLACEHOLDERS)[number];

export type SqlKind = 'table' | 'view' | 'query';

export interface SqlFile {
  /** The file name without `.sql`: the table's, view's or named query's name. */
  name: string;
  path: string;
  kind: SqlKind;
  /** The leading comment, its `--` markers removed and its lines joined. */
  comment: string;
  /** The statement, without the leading comment. */
  statement: string;
}

/**
 * Every `.sql` file of the directory, in name order, expanded for the reading schema (the lab's by
 * default); fails on a file that is not one of the three kinds.
 */
export function loadSqlFiles(dir: string = SQL_DIR, schema: ReadingSchema = LAB_SCHEMA): SqlFile[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => readSqlFile(join(dir, file), schema));
}

/** The text of a file of `sql/` (a file name, or a path) expanded for the reading schema. */
export function sqlText(file: string, schema: ReadingSchema = LAB_SCHEMA): string {
  const path = basename(file) === file ? join(SQL_DIR, file) : file;
  try {
    return expandSql(readFileSync(path, 'utf8'), schema);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

export function readSqlFile(path: string, schema: ReadingSchema = LAB_SCHEMA): SqlFile {
  const name = basename(path, '.sql');
  const text = sqlText(path, schema);
  const lines = text.split('\n');
  let first = 0;
  while (first < lines.length && (lines[first].trim() === '' || lines[first].trim().startsWith('--')))
    first++;
  const comment = lines
    .slice(0, first)
    .map((line) => line.trim().replace(/^--\s?/, ''))
    .filter((line) => line !== '')
    .join(' ');
  const statement = lines.slice(first).join('\n').trim();
  const fail = (why: string) => {
    throw new Error(`${path}: ${why}`);
  };
  if (statement === '') fail('no statement');
  if (statement.endsWith(';')) fail('ends with ";": one statement per file, without a semicolon');
  if (!/^[a-z][a-z0-9_]*$/.test(name)) fail('file names are lower-case identifiers (a-z, 0-9, _)');
  let kind: SqlKind;
  if (/^CREATE\s+EXTERNAL\s+TABLE\b/i.test(statement)) {
    kind = 'table';
    const table = parseExternalTable(statement).name;
    if (table !== name) fail(`declares table ${table}, not ${name}`);
  } else if (/^CREATE\s+OR\s+REPLACE\s+VIEW\b/i.test(statement)) {
    kind = 'view';
    const view = /^CREATE\s+OR\s+REPLACE\s+VIEW\s+"\$\{DATABASE\}"\.(\w+)\s+AS\b/i.exec(statement)?.[1];
    if (view !== name) fail(`must start CREATE OR REPLACE VIEW "\${DATABASE}".${name} AS`);
  } else if (/^(SELECT|WITH)\b/i.test(statement)) {
    kind = 'query';
  } else {
    return fail('is neither CREATE EXTERNAL TABLE, CREATE OR REPLACE VIEW nor a SELECT');
  }
  if (comment === '') fail('starts with no comment saying what it is');
  return { name, path, kind, comment, statement };
}

/**
 * Replaces the placeholders, in one pass (a replacement is never read again, so CDK tokens, which look
 * like `${Token[...]}`, are safe). A `${NAME}` in capitals that is not a known placeholder is an error.
 */
export function substitutePlaceholders(
  sql: string,
  values: Record<SqlPlaceholder, string>,
  /** Placeholders left as they are (the curation's hour, filled in when it runs). */
  keep: readonly string[] = [],
): string {
  return sql.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (match, name: string) => {
    if (keep.includes(name)) return match;
    if (!(SQL_PLACEHOLDERS as readonly string[]).includes(name))
      throw new Error(`unknown placeholder ${match} (known: ${SQL_PLACEHOLDERS.join(', ')})`);
    return values[name as SqlPlaceholder];
  });
}

export interface ColumnDdl {
  name: string;
  /** The Hive type, lower-case: `string`, `int`, `double`, `boolean`, `array<string>`... */
  type: string;
  comment?: string;
}

/** What a CREATE EXTERNAL TABLE statement declares, as a Glue table needs it. */
export interface ExternalTableDdl {
  name: string;
  comment?: string;
  columns: ColumnDdl[];
  partitionKeys: ColumnDdl[];
  serde: { library: string; parameters: Record<string, string> };
  inputFormat: string;
  outputFormat: string;
  location: string;
  properties: Record<string, string>;
}

const TEXT_INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
const TEXT_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';
const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
const PARQUET_INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat';
const PARQUET_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat';
const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';

type Token = { kind: 'word' | 'ident' | 'string' | 'punct'; text: string; at: number };

/** Tokens of Hive DDL: words, `quoted` or "quoted" identifiers, 'strings' (backslash escapes), punctuation. */
function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`unterminated comment at ${i}`);
      i = end + 2;
    } else if (c === "'") {
      const at = i;
      let text = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw new Error(`unterminated string at ${at}`);
        const d = sql[i];
        if (d === "'") break;
        if (d === '\\') {
          const e = sql[i + 1];
          const octal = /^[0-7]{3}/.exec(sql.slice(i + 1, i + 4));
          if (octal) {
            text += String.fromCharCode(Number.parseInt(octal[0], 8));
            i += 4;
            continue;
          }
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          i += 2;
          continue;
        }
        text += d;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', text, at });
    } else if (c === '`' || c === '"') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated identifier at ${i}`);
      tokens.push({ kind: 'ident', text: sql.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))?.[0] as string;
      tokens.push({ kind: 'word', text: word, at: i });
      i += word.length;
    } else if (/[0-9]/.test(c)) {
      const number = /^[0-9]+/.exec(sql.slice(i))?.[0] as string;
      tokens.push({ kind: 'word', text: number, at: i });
      i += number.length;
    } else if ('(),=.<>:;'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else {
      throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`);
    }
  }
  return tokens;
}

/**
 * Parses the subset of Athena's CREATE EXTERNAL TABLE that `sql/` uses: columns (with optional
 * COMMENT), COMMENT, PARTITIONED BY, ROW FORMAT SERDE ... WITH SERDEPROPERTIES, STORED AS TEXTFILE, PARQUET or
 * INPUTFORMAT/OUTPUTFORMAT, LOCATION and TBLPROPERTIES. Anything else is an error naming where it is.
 */
export function parseExternalTable(ddl: string): ExternalTableDdl {
  const tokens = tokenize(ddl);
  let p = 0;
  const peek = () => tokens[p];
  const where = () =>
    p < tokens.length ? `at ${JSON.stringify(tokens[p].text)} (offset ${tokens[p].at})` : 'at the end';
  const fail = (expected: string): never => {
    throw new Error(`CREATE EXTERNAL TABLE: expected ${expected} ${where()}`);
  };
  const isWord = (word: string) => peek()?.kind === 'word' && peek().text.toUpperCase() === word;
  const isPunct = (punct: string) => peek()?.kind === 'punct' && peek().text === punct;
  const word = (expected: string) => {
    if (!isWord(expected)) fail(expected);
    p++;
  };
  const punct = (expected: string) => {
    if (!isPunct(expected)) fail(`"${expected}"`);
    p++;
  };
  const string = (what: string): string => {
    if (peek()?.kind !== 'string') fail(what);
    return tokens[p++].text;
  };
  const identifier = (what: string): string => {
    const token = peek();
    if (token?.kind !== 'word' && token?.kind !== 'ident') fail(what);
    p++;
    return token.text;
  };
  const type = (): string => {
    let depth = 0;
    let text = '';
    while (p < tokens.length) {
      const token = peek();
      if (token.kind === 'punct' && depth === 0 && (token.text === ',' || token.text === ')')) break;
      if (token.kind === 'word' && depth === 0 && token.text.toUpperCase() === 'COMMENT') break;
      if (token.kind === 'punct' && (token.text === '(' || token.text === '<')) depth++;
      if (token.kind === 'punct' && (token.text === ')' || token.text === '>')) depth--;
      text += token.text;
      p++;
    }
    if (text === '') fail('a column type');
    return text.toLowerCase();
  };
  const columns = (): ColumnDdl[] => {
    const list: ColumnDdl[] = [];
    punct('(');
    for (;;) {
      const name = identifier('a column name').toLowerCase();
      const column: ColumnDdl = { name, type: type() };
      if (isWord('COMMENT')) {
        p++;
        column.comment = string('a column comment');
      }
      list.push(column);
      if (!isPunct(',')) break;
      p++;
    }
    punct(')');
    return list;
  };
  const properties = (): Record<string, string> => {
    const props: Record<string, string> = {};
    punct('(');
    for (;;) {
      const key = string('a property name');
      punct('=');
      props[key] = string('a property value');
      if (!isPunct(',')) break;
      p++;
    }
    punct(')');
    return props;
  };

  word('CREATE');
  word('EXTERNAL');
  word('TABLE');
  if (isWord('IF')) {
    word('IF');
    word('NOT');
    word('EXISTS');
  }
  let name = identifier('the table name');
  if (isPunct('.')) {
    p++;
    name = identifier('the table name');
  }
  const table: Partial<ExternalTableDdl> & { name: string } = {
    name: name.toLowerCase(),
    columns: columns(),
    partitionKeys: [],
    properties: {},
  };
  while (p < tokens.length && !isPunct(';')) {
    if (isWord('COMMENT')) {
      p++;
      table.comment = string('the table comment');
    } else if (isWord('PARTITIONED')) {
      p++;
      word('BY');
      table.partitionKeys = columns();
    } else if (isWord('ROW')) {
      p++;
      word('FORMAT');
      word('SERDE');
      table.serde = { library: string('the SerDe class'), parameters: {} };
      if (isWord('WITH')) {
        p++;
        word('SERDEPROPERTIES');
        table.serde.parameters = properties();
      }
    } else if (isWord('STORED')) {
      p++;
      word('AS');
      if (isWord('TEXTFILE')) {
        p++;
        table.inputFormat = TEXT_INPUT_FORMAT;
        table.outputFormat = TEXT_OUTPUT_FORMAT;
      } else if (isWord('PARQUET')) {
        p++;
        table.inputFormat = PARQUET_INPUT_FORMAT;
        table.outputFormat = PARQUET_OUTPUT_FORMAT;
        table.serde ??= { library: PARQUET_SERDE, parameters: { 'serialization.format': '1' } };
      } else {
        word('INPUTFORMAT');
        table.inputFormat = string('the input format class');
        word('OUTPUTFORMAT');
        table.outputFormat = string('the output format class');
      }
    } else if (isWord('LOCATION')) {
      p++;
      table.location = string('the location');
    } else if (isWord('TBLPROPERTIES')) {
      p++;
      table.properties = properties();
    } else {
      fail('COMMENT, PARTITIONED BY, ROW FORMAT SERDE, STORED AS, LOCATION or TBLPROPERTIES');
    }
  }
  if (isPunct(';')) p++;
  if (p < tokens.length) fail('the end of the statement');
  if (!table.location) throw new Error(`CREATE EXTERNAL TABLE ${table.name}: no LOCATION`);
  return {
    name: table.name,
    comment: table.comment,
    columns: table.columns ?? [],
    partitionKeys: table.partitionKeys ?? [],
    // Hive's defaults when the DDL says nothing: the text SerDe, stored as text files.
    serde: table.serde ?? { library: LAZY_SIMPLE_SERDE, parameters: { 'serialization.format': '1' } },
    inputFormat: table.inputFormat ?? TEXT_INPUT_FORMAT,
    outputFormat: table.outputFormat ?? TEXT_OUTPUT_FORMAT,
    location: table.location,
    properties: table.properties ?? {},
  };
}

/** A placeholder as the files write it, `${NAME}`, for what is left unsubstituted. */
const placeholder = (name: SqlPlaceholder) => `\${${name}}`;

/** The name `schemaTableDdl` gives a schema version's table: `processed_readings_skab_pump_v1`. */
export function versionedTableName(schema: Pick<ReadingSchema, 'name' | 'version'>): string {
  return `processed_readings_${schema.name}_v${schema.version}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The CSV table of a reading schema as a statement to run in Athena: the objects of that schema
 * version, under its own prefix, to query beside the deployed schema's table after the schema changed
 * (a table reads the objects of one version: their columns differ). The bucket and database are
 * written in when given, `${...}` placeholders otherwise; the table takes `table` (default:
 * versionedTableName, so it never replaces the stack's processed_readings).
 */
export function schemaTableDdl(
  schema: ReadingSchema,
  options: { table?: string; bucket?: string; database?: string } = {},
): string {
  const file = readSqlFile(join(SQL_DIR, 'processed_readings.sql'), schema);
  const table = options.table ?? versionedTableName(schema);
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`${table}: a table name is a-z, 0-9 and _`);
  const statement = substitutePlaceholders(
    file.statement.replace(
      /^CREATE EXTERNAL TABLE IF NOT EXISTS processed_readings \(/,
      `CREATE EXTERNAL TABLE IF NOT EXISTS ${options.database ? `\`${options.database}\`.` : ''}${table} (`,
    ),
    {
      PROCESSED_BUCKET: options.bucket ?? placeholder('PROCESSED_BUCKET'),
      RAW_BUCKET: placeholder('RAW_BUCKET'),
      DATABASE: options.database ?? placeholder('DATABASE'),
    },
  );
  const text = sqlText(file.path, schema);
  const comment = text.slice(0, text.indexOf('CREATE EXTERNAL TABLE'));
  return `${comment}${statement};\n`;
}

/** The curation's statements, run by the curation state machine and `npm run curate`: not tables, not named queries. */
export const CURATION_DIR = join(SQL_DIR, 'curation');
export type CurationFile = 'curate_hour.sql' | 'check_counts.sql';
/**
 * The placeholders of the curation's statements that the hour fills in, written `{DT}` (single braces):
 * not `${DT}`, which CloudFormation would take for a parameter of its own in the state machine's definition.
 */
export const HOUR_PLACEHOLDERS = ['PREVIOUS_DT', 'PREVIOUS_HOUR', 'DT', 'HOUR'] as const;
export type HourPlaceholder = (typeof HOUR_PLACEHOLDERS)[number];

/**
 * A statement of sql/curation/ expanded for the reading schema, its leading comment dropped: the hour's
 * placeholders (`{DT}`, `{HOUR}`, `{PREVIOUS_DT}`, `{PREVIOUS_HOUR}`) and `${DATABASE}`,
 * `${PROCESSED_BUCKET}` left for the caller.
 */
export function curationStatement(file: CurationFile, schema: ReadingSchema = LAB_SCHEMA): string {
  return sqlText(join(CURATION_DIR, file), schema)
    .split('\n')
    .filter((_line, i, lines) =>
      lines.slice(0, i + 1).some((l) => l.trim() !== '' && !l.trim().startsWith('--')),
    )
    .join('\n')
    .trim();
}

/** Writes an hour into a curation statement: `hour` and the hour before it, both `{ dt, hour }`. */
export function fillHour(
  statement: string,
  hour: { dt: string; hour: string },
  previous: { dt: string; hour: string },
): string {
  const values: Record<HourPlaceholder, string> = {
    PREVIOUS_DT: previous.dt,
    PREVIOUS_HOUR: previous.hour,
    DT: hour.dt,
    HOUR: hour.hour,
  };
  return statement.replace(
    /\{(PREVIOUS_DT|PREVIOUS_HOUR|DT|HOUR)\}/g,
    (_m, name: HourPlaceholder) => values[name],
  );
}
