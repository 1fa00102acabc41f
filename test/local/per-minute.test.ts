import { last3Command } from '../../cli/last3';
import { LocalPipeline } from '../../local/pipeline';
import { sendLabSteps } from '../fixtures/lab-sender';

describe('per-minute windows on the local pipeline', () => {
  test('npm run last3 -- --per-minute reads windows that count every reading sent once', async () => {
    const pipeline = await LocalPipeline.start({});
    try {
      const { readings } = await sendLabSteps(pipeline, { steps: 4, burst: 500, hotStep: 1 });
      await pipeline.drain(60_000);
      const out: string[] = [];
      const io = {
        out: (text: string) => out.push(text),
        err: () => {},
        client: () => pipeline.clients.documents,
      };

      await last3Command(io).parseAsync(
        ['--per-minute', '--relative-to', 'latest', '--minutes', '10', '--json'],
        {
          from: 'user',
        },
      );
      await last3Command(io).parseAsync(['--per-minute', '--relative-to', 'latest', '--minutes', '10'], {
        from: 'user',
      });

      const windows = JSON.parse(out[0]) as {
        equipment_id: number;
        count: number;
        late: number;
        anomalies: number;
        avg: { temperature: number };
      }[];
      expect(windows.reduce((n, w) => n + w.count, 0)).toBe(readings);
      expect(windows.reduce((n, w) => n + w.late, 0)).toBe(0);
      expect(new Set(windows.map((w) => w.equipment_id))).toEqual(new Set([101, 102, 103]));
      expect(windows.some((w) => w.anomalies > 0)).toBe(true);
      expect(out[1].split('\n')[0]).toMatch(/^MINUTE\s+EQUIPMENT\s+READINGS\s+LATE\s+ANOMALIES/);
    } finally {
      await pipeline.stop();
    }
  });
});
