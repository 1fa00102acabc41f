import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

export const PROJECT_ROOT = path.join(__dirname, '..', '..');

export interface StreamConsumerFunctionProps {
  /** Folder under lambdas/ holding the handler's index.ts. */
  handlerFolder: string;
  description: string;
  stream: kinesis.IStream;
  environment: Record<string, string>;
  batchSize: number;
  batchingWindow: Duration;
  retryAttempts: number;
  maxRecordAge: Duration;
  memorySize: number;
  timeout: Duration;
  logRetention: logs.RetentionDays;
  /** Encrypts the dead-letter queue. */
  key: kms.IKey;
  /** Files copied beside the bundle: source path -> name in the bundle. */
  bundledFiles?: Record<string, string>;
}

/**
 * A TypeScript Lambda function consuming a Kinesis stream, the way every consumer here should: in
 * shard order, partial batch responses, bisect on error, bounded retries and record age, failures to
 * an SQS dead-letter queue so a bad batch never blocks the shard, its own log group (deleted with the
 * stack) and a role holding only what is granted to it.
 */
export class StreamConsumerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: sqs.Queue;
  readonly eventSource: sources.KinesisEventSource;

  constructor(scope: Construct, id: string, props: StreamConsumerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the default one, which carries the AWSLambdaBasicExecutionRole
    // managed policy (logs on every log group of the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (Lambda execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    const copies = Object.entries(props.bundledFiles ?? {});
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, 'lambdas', props.handlerFolder, 'index.ts'),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        // Maps to file and line without embedding the sources: a fraction of the size.
        sourcesContent: false,
        // esbuild's errors only: `npm run synth` stays quiet (its size notes are no warning: the SDK is bundled).
        logLevel: nodejs.LogLevel.ERROR,
        target: 'node24',
        // The SDK is bundled, so the tested version is the deployed one.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) =>
            copies.map(
              ([from, to]) => `cp "${path.resolve(PROJECT_ROOT, from)}" "${path.join(outputDir, to)}"`,
            ),
        },
      },
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.deadLetterQueue,
      'SQS3',
      'This queue is itself the dead-letter destination of the event source mapping.',
    );
    for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
      acknowledge(
        this.role,
        `IAM5[Action::${action}]`,
        'KMS actions of the encrypt grant for the encrypted dead-letter queue (and alert topic); limited to the pipeline key.',
      );
    }

    this.eventSource = new sources.KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize,
      maxBatchingWindow: props.batchingWindow,
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts,
      maxRecordAge: props.maxRecordAge,
      onFailure: new sources.SqsDlq(this.deadLetterQueue),
    });
    this.function.addEventSource(this.eventSource);
  }
}
