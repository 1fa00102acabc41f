import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_LABELS, FEATURES } from '../../lambdas/shared/features';
import { PHYSICAL_RANGES } from '../../lambdas/shared/reading';
import { LAB_SCHEMA, LAB_SCHEMA_FILE, parseReadingSchema } from '../../lambdas/shared/reading-schema';
import { loadReadingSchema } from '../../lambdas/shared/reading-schema-file';

const ROOT = join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'schema-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the reading schema', () => {
  test("the lab's schema is the pipeline's four features, labels, units and ranges, and schemas/lab.json is it", () => {
    expect(LAB_SCHEMA.featureNames).toEqual([...FEATURES]);
    expect(LAB_SCHEMA.features.map((f) => f.label)).toEqual(FEATURES.map((f) => FEATURE_LABELS[f]));
    expect(LAB_SCHEMA.features.map((f) => [f.min, f.max, f.unitSuffix])).toEqual(
      FEATURES.map((f) => [PHYSICAL_RANGES[f].min, PHYSICAL_RANGES[f].max, PHYSICAL_RANGES[f].unit]),
    );
    expect(LAB_SCHEMA).toMatchObject({
      id: 'lab@1',
      isLab: true,
      equipment: { field: 'equipment_id', type: 'integer' },
    });
    expect(loadReadingSchema(join(ROOT, 'schemas', 'lab.json'))).toEqual(LAB_SCHEMA);
  });

  test('the example schemas load: SKAB from its CSV header names, the power meter from YAML', () => {
    const skab = loadReadingSchema(join(ROOT, 'schemas', 'skab.json'));
    expect(skab.featureNames).toHaveLength(8);
    expect(skab.features.find((f) => f.name === 'volume_flow_rate_rms')?.source).toBe('Volume Flow RateRMS');
    expect(skab.features.find((f) => f.name === 'pressure')?.min).toBeLessThan(0);
    expect(skab.isLab).toBe(false);
    const meter = loadReadingSchema(join(ROOT, 'schemas', 'power-meter.yaml'));
    expect(meter).toMatchObject({ id: 'power-meter@1', equipment: { field: 'meter', type: 'string' } });
    expect(meter.timestamp).toEqual({ field: 'time', forms: ['iso8601', 'epoch-millis'] });
    expect(meter.features.find((f) => f.name === 'frequency_hz')).toMatchObject({
      optional: true,
      unitSuffix: ' Hz',
    });
  });

  test.each([
    [
      'a feature name that is not a column name',
      { features: [{ ...LAB_SCHEMA_FILE.features[0], name: 'Temp C' }] },
      /features\.0\.name: must be lowercase letters/,
    ],
    [
      'a feature named as a column the pipeline writes',
      { features: [{ ...LAB_SCHEMA_FILE.features[0], name: 'reasons' }] },
      /features\.0\.name: is the name of a column/,
    ],
    [
      'a range upside down',
      { features: [{ ...LAB_SCHEMA_FILE.features[0], min: 5, max: 1 }] },
      /features\.0\.max: min must be below max/,
    ],
    [
      'a feature twice',
      { features: [LAB_SCHEMA_FILE.features[0], LAB_SCHEMA_FILE.features[0]] },
      /features\.1\.name: vibration_amplitude is declared twice/,
    ],
    ['no features', { features: [] }, /features: /],
    ['an unknown field', { colour: 'red' }, /\(root\): Unrecognized key: "colour"/],
    ['an equipment type that is neither', { equipment: { field: 'id', type: 'uuid' } }, /equipment\.type/],
    [
      'a pattern that is not a regular expression',
      { equipment: { field: 'id', type: 'string', pattern: '([' } },
      /equipment\.pattern/,
    ],
    ['the timestamp field named as a feature', { timestamp: { field: 'humidity' } }, /different names/],
    [
      'limits upside down',
      { features: [{ ...LAB_SCHEMA_FILE.features[0], limits: { low: 9, high: 1 } }] },
      /features\.0\.limits: low must not exceed high/,
    ],
    ['another format version', { formatVersion: 2 }, /formatVersion/],
  ])('refuses %s, naming the field', (_name, change, message) => {
    expect(() => parseReadingSchema({ ...LAB_SCHEMA_FILE, ...change }, 'my.json')).toThrow(message);
    expect(() => parseReadingSchema({ ...LAB_SCHEMA_FILE, ...change }, 'my.json')).toThrow(/^my\.json: /);
  });

  test('a file that is not JSON or YAML, or not there, is an error naming the file', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"formatVersion": 1,');
    expect(() => loadReadingSchema(bad)).toThrow(/bad\.json: not valid JSON/);
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, 'features: [a, b\n');
    expect(() => loadReadingSchema(badYaml)).toThrow(/bad\.yaml: not valid YAML/);
    expect(() => loadReadingSchema(join(dir, 'none.json'))).toThrow(
      /cannot read the reading schema at .*none\.json/,
    );
  });
});
