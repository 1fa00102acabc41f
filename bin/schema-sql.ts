#!/usr/bin/env node
import * as path from 'node:path';
import { Command } from 'commander';
import { seeHelp } from '../cli/usage';
import { loadReadingSchema } from '../lambdas/shared/reading-schema-file';
import { schemaTableDdl, versionedTableName } from '../lib/constructs/analytics-sql';

/**
 * Prints the Athena DDL of the CSV table of a reading schema version (sql/processed_readings.sql
 * expanded for it): to read the objects an earlier version of a deployment's schema wrote, which the
 * stack's table (made from the deployed version) does not read.
 *
 *   npx tsx bin/schema-sql.ts --schema schemas/skab-v1.json --bucket <ProcessedBucketName>
 */
new Command('schema-sql')
  .description("the Athena CREATE EXTERNAL TABLE of a reading schema version's CSV objects")
  .requiredOption('--schema <file>', 'the reading schema (JSON or YAML) of the objects to read')
  .option('--bucket <name>', 'the processed bucket (the stack output ProcessedBucketName)')
  .option('--database <name>', 'the Glue database (the stack output GlueDatabaseName)')
  .option('--table <name>', 'the table name (default: processed_readings_<schema>_v<version>)')
  .showHelpAfterError(seeHelp('npx tsx bin/schema-sql.ts'))
  .action((options: { schema: string; bucket?: string; database?: string; table?: string }) => {
    try {
      const schema = loadReadingSchema(path.resolve(options.schema));
      process.stdout.write(
        schemaTableDdl(schema, {
          table: options.table ?? versionedTableName(schema),
          bucket: options.bucket,
          database: options.database,
        }),
      );
    } catch (error) {
      process.stderr.write(`schema-sql: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  })
  .parse();
