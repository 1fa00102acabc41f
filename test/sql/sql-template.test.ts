import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readingColumns } from '../../lambdas/shared/processed-reading';
import { LAB_SCHEMA, type ReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';
import {
  loadSqlFiles,
  parseExternalTable,
  SQL_DIR,
  schemaTableDdl,
  sqlText,
  versionedTableName,
} from '../../lib/constructs/analytics-sql';
import {
  ATHENA_RESERVED_WORDS,
  expandTemplate,
  jsonPathOf,
  sqlTemplateValues,
} from '../../lib/constructs/sql-template';

const ROOT = join(__dirname, '..', '..');
/** The files of sql/ as they were committed before the reading schema made them templates. */
const GOLDEN = join(__dirname, 'lab-golden');
const FILES = readdirSync(SQL_DIR)
  .filter((file) => file.endsWith('.sql'))
  .sort();
const SKAB = loadReadingSchema(join(ROOT, 'schemas', 'skab.json'));
const METER = loadReadingSchema(join(ROOT, 'schemas', 'power-meter.yaml'));

describe("the lab's schema: sql/ expands to the SQL of before the reading schema, byte for byte", () => {
  test('the golden copy holds every file of sql/', () => {
    expect(readdirSync(GOLDEN).sort()).toEqual(FILES);
  });

  test.each([
    ['the lab schema', LAB_SCHEMA],
    ['schemas/lab.json', loadReadingSchema(join(ROOT, 'schemas', 'lab.json'))],
  ])('%s', (_name, schema) => {
    for (const file of FILES)
      expect([file, sqlText(file, schema)]).toEqual([file, readFileSync(join(GOLDEN, file), 'utf8')]);
  });
});

describe('the template syntax', () => {
  const values = {
    flag: true,
    off: false,
    word: 'x',
    items: [
      { name: 'a', last: false },
      { name: 'b', last: true },
    ],
  };

  test('values, lists with a separator but after the last, flags and inverted sections', () => {
    expect(expandTemplate('{{word}}: {{#items}}{{name}}{{^last}}, {{/last}}{{/items}}.', values)).toBe(
      'x: a, b.',
    );
    expect(expandTemplate('{{#flag}}on{{/flag}}{{#off}}off{{/off}}{{^off}}not off{{/off}}', values)).toBe(
      'onnot off',
    );
    // An item's values shadow the outer ones; the outer ones stay visible.
    expect(expandTemplate('{{#items}}{{word}}{{name}} {{/items}}', values)).toBe('xa xb ');
  });

  test('a line holding only a section tag is dropped whole; text around a tag is kept', () => {
    const template = 'SELECT\n  {{#items}}\n  {{name}},\n  {{/items}}\n  z\n';
    expect(expandTemplate(template, values)).toBe('SELECT\n  a,\n  b,\n  z\n');
    expect(expandTemplate('a {{#flag}}\nb\n{{/flag}} c', values)).toBe('a \nb\n c');
    expect(expandTemplate('{{#items}}\n{{name}}\n{{/items}}', values)).toBe('a\nb\n');
  });

  test(`the stack's \${...} placeholders and partition projection's \${dt} are left as they are`, () => {
    expect(expandTemplate(`'s3://\${PROCESSED_BUCKET}/{{word}}/dt=\${dt}/'`, values)).toBe(
      `'s3://\${PROCESSED_BUCKET}/x/dt=\${dt}/'`,
    );
  });

  test.each([
    ['{{nothing}}', /line 1, column 1: \{\{nothing\}\} is not a template value/],
    ['a\n{{#items}}b', /line 2, column 1: \{\{#items\}\} is never closed/],
    ['{{/items}}', /\{\{\/items\}\} closes no \{\{#items\}\}/],
    ['{{#items}}{{/flag}}', /\{\{\/flag\}\} closes no \{\{#flag\}\}/],
    ['{{items}}', /\{\{items\}\} is a section, not a value/],
    ['{{#word}}{{/word}}', /\{\{word\}\} is a value, not a section/],
    ['x {{ Word }}', /line 1, column 3: not a template tag/],
    ['x }}', /not a template tag/],
  ])('refuses %p', (template, error) => {
    expect(() => expandTemplate(template, values)).toThrow(error);
  });

  test('an error in a file of sql/ names the file, and where in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-template-'));
    try {
      writeFileSync(join(dir, 'q.sql'), '-- q\nSELECT {{features}} FROM t');
      expect(() => loadSqlFiles(dir, LAB_SCHEMA)).toThrow(
        `${join(dir, 'q.sql')}: line 2, column 8: {{features}} is a section, not a value`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the values a schema gives the templates', () => {
  test('JSON paths: a plain field after a dot, any other in brackets, escaped for JSON path and SQL', () => {
    expect(jsonPathOf('equipment_id')).toBe('$.equipment_id');
    expect(jsonPathOf('Volume Flow RateRMS')).toBe('$["Volume Flow RateRMS"]');
    expect(jsonPathOf(`it's "x"\\y`)).toBe(`$["it''s \\"x\\"\\\\y"]`);
  });

  test('reserved words of Athena\'s DDL and queries are quoted: `current` in DDL, "current" in queries', () => {
    expect(ATHENA_RESERVED_WORDS.has('current')).toBe(true);
    for (const name of LAB_SCHEMA.featureNames) expect(ATHENA_RESERVED_WORDS.has(name)).toBe(false);
    const values = sqlTemplateValues(SKAB);
    const current = (values.features as Record<string, unknown>[]).find((f) => f.name === 'current');
    expect(current).toMatchObject({ ddl_column: '`current`', column: '"current"', value: '"current"' });
    expect(values.feature_list).toContain(', "current", ');
  });

  test("the lab's values", () => {
    expect(sqlTemplateValues(LAB_SCHEMA)).toMatchObject({
      lab: true,
      readings_prefix: 'readings/',
      equipment_type: 'INT',
      equipment_path: '$.equipment_id',
      timestamp_path: '$.timestamp',
      feature_list: 'vibration_amplitude, vibration_frequency, temperature, humidity',
    });
  });
});

describe("another schema's SQL", () => {
  /** The table's columns, as Glue gets them from the DDL. */
  const columnsOf = (schema: ReadingSchema) =>
    parseExternalTable(
      loadSqlFiles(SQL_DIR, schema).find((f) => f.name === 'processed_readings')?.statement ?? '',
    );

  test.each([
    ['SKAB', SKAB, 'readings/skab-pump-v1/'],
    ['the power meter', METER, 'readings/power-meter-v1/'],
  ])(
    '%s: the CSV table has the CSV header of the transform, equipment_id a string, the features numbers, under its own prefix',
    (_name, schema, prefix) => {
      const table = columnsOf(schema);
      expect(table.columns.map((c) => c.name)).toEqual(readingColumns(schema));
      const types = Object.fromEntries(table.columns.map((c) => [c.name, c.type]));
      expect(types.equipment_id).toBe('string');
      for (const feature of schema.features)
        expect([feature.name, types[feature.name]]).toEqual([
          feature.name,
          feature.optional ? 'string' : 'double',
        ]);
      expect(table.location).toBe(`s3://\${PROCESSED_BUCKET}/${prefix}`);
      expect(table.properties['storage.location.template']).toBe(
        `s3://\${PROCESSED_BUCKET}/${prefix}dt=\${dt}/hour=\${hour}/`,
      );
    },
  );

  test('an integer-id schema keeps equipment_id INT', () => {
    const ints = { ...SKAB, equipment: { field: 'pump', type: 'integer' as const, min: 1, max: 99 } };
    const types = Object.fromEntries(columnsOf(ints).columns.map((c) => [c.name, c.type]));
    expect(types.equipment_id).toBe('int');
    expect(sqlText('raw_readings.sql', ints)).toContain(
      "try_cast(json_extract_scalar(reading, '$.pump') AS INTEGER) AS equipment_id,",
    );
  });

  test.each([
    ['SKAB', SKAB],
    ['the power meter', METER],
  ])('%s: every file loads, with nothing of the lab and no template tag left', (_name, schema) => {
    const files = loadSqlFiles(SQL_DIR, schema);
    expect(files.map((f) => f.name)).toEqual(FILES.map((f) => f.replace('.sql', '')));
    const leftOver = (pattern: RegExp) =>
      files.filter((f) => pattern.test(f.statement) || pattern.test(f.comment)).map((f) => f.name);
    expect(leftOver(/\{\{|\}\}/)).toEqual([]);
    expect(leftOver(/vibration|humidity|\$\.equipment_id|equipment_id INT/i)).toEqual([]);
  });

  test("the raw readings view reads the schema's own fields", () => {
    const view = sqlText('raw_readings.sql', METER);
    expect(view).toContain(`json_extract_scalar(reading, '$.time') AS "timestamp",`);
    expect(view).toContain(`json_extract_scalar(reading, '$.meter') AS equipment_id,`);
    expect(view).toContain(
      `try_cast(json_extract_scalar(reading, '$.frequency_hz') AS DOUBLE) AS frequency_hz,`,
    );
  });
});

describe("the DDL of a schema version's table (bin/schema-sql.ts), to read an earlier version's objects", () => {
  test("it is the stack's CSV table of that version, under a name of its own, over that version's prefix", () => {
    const stackTable = parseExternalTable(sqlText('processed_readings.sql', SKAB));
    const ddl = schemaTableDdl(SKAB, { bucket: 'my-processed-bucket', database: 'sensor_pipeline' });
    expect(ddl).toMatch(/^-- The CSV lake written by the transform Lambda/);
    expect(ddl.endsWith(');\n')).toBe(true);
    const table = parseExternalTable(ddl);
    expect(versionedTableName(SKAB)).toBe('processed_readings_skab_pump_v1');
    expect(table).toEqual({
      ...stackTable,
      name: 'processed_readings_skab_pump_v1',
      location: 's3://my-processed-bucket/readings/skab-pump-v1/',
      properties: {
        ...stackTable.properties,
        'storage.location.template': `s3://my-processed-bucket/readings/skab-pump-v1/dt=\${dt}/hour=\${hour}/`,
      },
    });
    expect(ddl).toContain(
      'CREATE EXTERNAL TABLE IF NOT EXISTS `sensor_pipeline`.processed_readings_skab_pump_v1 (',
    );
    // Without a bucket, the placeholder is left for the reader to fill in.
    expect(parseExternalTable(schemaTableDdl({ ...SKAB, version: '2.0' })).location).toBe(
      `s3://\${PROCESSED_BUCKET}/readings/skab-pump-v2.0/`,
    );
    expect(versionedTableName({ name: 'skab-pump', version: '2.0' })).toBe(
      'processed_readings_skab_pump_v2_0',
    );
    expect(() => schemaTableDdl(SKAB, { table: 'Drop table;' })).toThrow('a table name is a-z, 0-9 and _');
  });
});
