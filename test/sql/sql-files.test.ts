import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { READING_COLUMNS, readingColumns } from '../../lambdas/shared/processed-reading';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import {
  loadSqlFiles,
  parseExternalTable,
  SQL_DIR,
  sqlText,
  substitutePlaceholders,
} from '../../lib/constructs/analytics-sql';
import { type Json, ref, resourcesOfType, synthPipeline } from '../infra/helpers';

/** The files of sql/, read here without the stack's loader (expanded for the lab's schema). */
const ENTRIES = readdirSync(SQL_DIR).sort();
/** sql/curation/ holds the curation's statements, which the state machine runs: neither tables nor named queries. */
const FILES = ENTRIES.filter((entry) => entry !== 'curation');
const text = (file: string, schema: ReadingSchema = LAB_SCHEMA) => sqlText(file, schema);
const SKAB = loadReadingSchema(join(__dirname, '..', '..', 'schemas', 'skab.json'));
/** The statement as a named query holds it: the leading comment dropped, the database substituted. */
const statementOf = (file: string, database: string, schema: ReadingSchema) =>
  text(file, schema)
    .split('\n')
    .filter((_line, i, lines) =>
      lines.slice(0, i + 1).some((l) => l.trim() !== '' && !l.trim().startsWith('--')),
    )
    .join('\n')
    .trim()
    .replaceAll(`\${DATABASE}`, database);
const isTable = (file: string) => /^\s*CREATE EXTERNAL TABLE/m.test(text(file));

describe('every file in sql/ is one the stack loads', () => {
  test('sql/ holds only .sql files, each a table, a view or a reference query', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
    expect(ENTRIES.filter((file) => !file.endsWith('.sql'))).toEqual(['curation']);
    expect(readdirSync(join(SQL_DIR, 'curation')).sort()).toEqual(['check_counts.sql', 'curate_hour.sql']);
    expect(loadSqlFiles().map((file) => `${file.name}.sql`)).toEqual(FILES);
  });

  test.each([
    ['default context', {}, 'sensor_pipeline', 'sensor-pipeline', LAB_SCHEMA],
    ['namePrefix=dev-', { namePrefix: 'dev-' }, 'dev_sensor_pipeline', 'dev-sensor-pipeline', LAB_SCHEMA],
    [
      'readingSchema=schemas/skab.json',
      { readingSchema: 'schemas/skab.json' },
      'sensor_pipeline',
      'sensor-pipeline',
      SKAB,
    ],
  ])(
    'each CREATE EXTERNAL TABLE file is a Glue table, each other file a named query of its text, expanded for the schema (%s)',
    (_name, context, database, workGroupName, schema) => {
      const { json } = synthPipeline(context);
      const tables = resourcesOfType(json, 'AWS::Glue::Table');
      const queries = resourcesOfType(json, 'AWS::Athena::NamedQuery');
      const [[workGroupId, workGroup]] = resourcesOfType(json, 'AWS::Athena::WorkGroup');
      expect(workGroup.Properties.Name).toBe(workGroupName);

      const tableFiles = FILES.filter(isTable);
      expect(tableFiles.sort()).toEqual([
        'curated_readings.sql',
        'processed_readings.sql',
        'raw_archive.sql',
      ]);
      expect(tables.map(([, t]) => `${t.Properties.TableInput.Name}.sql`).sort()).toEqual(tableFiles);
      for (const [, table] of tables) expect(table.Properties.DatabaseName).toBe(database);

      const queryFiles = FILES.filter((file) => !isTable(file));
      expect(queries.map(([, q]) => `${q.Properties.Name}.sql`).sort()).toEqual(queryFiles);
      for (const [, query] of queries) {
        const file = `${query.Properties.Name}.sql`;
        expect(query.Properties).toEqual({
          Name: query.Properties.Name,
          Description: expect.any(String),
          Database: database,
          WorkGroup: ref(workGroupId),
          QueryString: statementOf(file, database, schema),
        });
        expect(query.Properties.QueryString).not.toMatch(/\$\{[A-Z_]+\}/);
        expect(query.Properties.Description.length).toBeLessThanOrEqual(1024);
      }
    },
  );

  test('the views are CREATE OR REPLACE VIEW of the database, the reference queries SELECTs, none ends with a semicolon', () => {
    const { json } = synthPipeline();
    const statements = resourcesOfType(json, 'AWS::Athena::NamedQuery').map(([, q]) => q.Properties as Json);
    const views = statements.filter((q) => q.QueryString.startsWith('CREATE OR REPLACE VIEW'));
    expect(views.map((q) => q.Name).sort()).toEqual([
      'raw_readings',
      'readings',
      'readings_per_minute',
      'streamdata_last3_view',
      'streamdata_view',
    ]);
    for (const view of views)
      expect(view.QueryString).toMatch(
        new RegExp(`^CREATE OR REPLACE VIEW "sensor_pipeline"\\.${view.Name} AS\\n`),
      );
    for (const query of statements.filter((q) => !views.includes(q))) {
      expect(query.Name).toMatch(/^query_/);
      expect(query.QueryString).toMatch(/^(SELECT|WITH)\b/);
    }
    for (const statement of statements) expect(statement.QueryString.trimEnd().endsWith(';')).toBe(false);
  });

  test('the CSV table of the stack has the columns of the CSV header the transform writes, in order', () => {
    const { json } = synthPipeline();
    const [[, table]] = resourcesOfType(json, 'AWS::Glue::Table').filter(
      ([, t]) => t.Properties.TableInput.Name === 'processed_readings',
    );
    expect(table.Properties.TableInput.StorageDescriptor.Columns.map((c: Json) => c.Name)).toEqual([
      ...READING_COLUMNS,
    ]);
  });

  test("with readingSchema, the CSV table has the schema's columns and types, and reads its prefix only", () => {
    const { json } = synthPipeline({ readingSchema: 'schemas/skab.json' });
    const [[, table]] = resourcesOfType(json, 'AWS::Glue::Table').filter(
      ([, t]) => t.Properties.TableInput.Name === 'processed_readings',
    );
    const input = table.Properties.TableInput;
    // The lab's metadata and score columns, equipment_id a string (SKAB's ids are), the features numbers.
    const labTypes = new Map(
      parseExternalTable(text('processed_readings.sql')).columns.map((c) => [c.name, c.type]),
    );
    const expectedType = (name: string) =>
      name === 'equipment_id' ? 'string' : SKAB.featureNames.includes(name) ? 'double' : labTypes.get(name);
    expect(input.StorageDescriptor.Columns.map((c: Json) => [c.Name, c.Type])).toEqual(
      readingColumns(SKAB).map((name) => [name, expectedType(name)]),
    );
    const bucket = input.StorageDescriptor.Location['Fn::Join'][1][1];
    expect(input.StorageDescriptor.Location).toEqual({
      'Fn::Join': ['', ['s3://', bucket, '/readings/skab-pump-v1/']],
    });
    expect(input.Parameters['storage.location.template']).toEqual({
      'Fn::Join': ['', ['s3://', bucket, `/readings/skab-pump-v1/dt=\${dt}/hour=\${hour}/`]],
    });
  });
});

describe('the DDL parser and the placeholders', () => {
  test('parses columns, comments, partition keys, SerDe, formats, location and properties', () => {
    const ddl = parseExternalTable(`-- a comment
      CREATE EXTERNAL TABLE IF NOT EXISTS db.t (
        a STRING COMMENT 'the a',
        \`timestamp\` STRING,
        b ARRAY<STRUCT<x: INT, y: STRING>>,
        c DECIMAL(10, 2)
      )
      COMMENT 'a table'
      PARTITIONED BY (dt STRING)
      ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
      WITH SERDEPROPERTIES ('escapeChar' = '\\\\', 'separatorChar' = '\\t', 'quote' = 'it\\'s')
      STORED AS TEXTFILE
      LOCATION 's3://\${PROCESSED_BUCKET}/t/'
      TBLPROPERTIES ('storage.location.template' = 's3://\${PROCESSED_BUCKET}/t/dt=\${dt}/')`);
    expect(ddl).toEqual({
      name: 't',
      comment: 'a table',
      columns: [
        { name: 'a', type: 'string', comment: 'the a' },
        { name: 'timestamp', type: 'string' },
        { name: 'b', type: 'array<struct<x:int,y:string>>' },
        { name: 'c', type: 'decimal(10,2)' },
      ],
      partitionKeys: [{ name: 'dt', type: 'string' }],
      serde: {
        library: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
        parameters: { escapeChar: '\\', separatorChar: '\t', quote: "it's" },
      },
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      location: `s3://\${PROCESSED_BUCKET}/t/`,
      properties: { 'storage.location.template': `s3://\${PROCESSED_BUCKET}/t/dt=\${dt}/` },
    });
  });

  test('the escape character of the CSV table is one backslash', () => {
    expect(parseExternalTable(text('processed_readings.sql')).serde.parameters).toEqual({
      separatorChar: ',',
      quoteChar: '"',
      escapeChar: '\\',
    });
  });

  test.each([
    [
      "CREATE EXTERNAL TABLE t (a STRING) LOCATION 's3://b/' CLUSTERED BY (a)",
      /expected COMMENT, PARTITIONED BY.* at "CLUSTERED"/,
    ],
    ['CREATE EXTERNAL TABLE t (a STRING)', /no LOCATION/],
    [
      "CREATE EXTERNAL TABLE t (a STRING) ROW FORMAT DELIMITED LOCATION 's3://b/'",
      /expected SERDE at "DELIMITED"/,
    ],
    ["CREATE EXTERNAL TABLE t (a) LOCATION 's3://b/'", /expected a column type/],
    ["CREATE EXTERNAL TABLE t (a STRING) LOCATION 's3://b/", /unterminated string/],
  ])('refuses what it does not know: %s', (ddl, error) => {
    expect(() => parseExternalTable(ddl)).toThrow(error);
  });

  test(`placeholders are replaced once; \${dt} is left for partition projection; an unknown one is an error`, () => {
    const values = { PROCESSED_BUCKET: `\${Token[X.1]}`, RAW_BUCKET: 'raw', DATABASE: 'db' };
    expect(substitutePlaceholders(`s3://\${PROCESSED_BUCKET}/dt=\${dt}/ "\${DATABASE}"`, values)).toBe(
      `s3://\${Token[X.1]}/dt=\${dt}/ "db"`,
    );
    expect(() => substitutePlaceholders(`\${BUCKET}`, values)).toThrow(`unknown placeholder \${BUCKET}`);
  });

  test('a file the stack could not load fails the synth, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-'));
    try {
      const attempt = (name: string, body: string) => {
        for (const file of readdirSync(dir)) rmSync(join(dir, file));
        writeFileSync(join(dir, name), body);
        return () => loadSqlFiles(dir);
      };
      expect(attempt('q.sql', '-- q\nSELECT 1;')).toThrow(/q\.sql: ends with ";"/);
      expect(attempt('q.sql', 'SELECT 1')).toThrow(/q\.sql: starts with no comment/);
      expect(attempt('v.sql', `-- v\nCREATE OR REPLACE VIEW "\${DATABASE}".w AS SELECT 1`)).toThrow(
        /v\.sql: must start CREATE OR REPLACE VIEW "\$\{DATABASE\}"\.v AS/,
      );
      expect(attempt('t.sql', "-- t\nCREATE EXTERNAL TABLE u (a STRING) LOCATION 's3://b/'")).toThrow(
        /t\.sql: declares table u, not t/,
      );
      expect(attempt('d.sql', '-- d\nDROP TABLE x')).toThrow(/d\.sql: is neither/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
