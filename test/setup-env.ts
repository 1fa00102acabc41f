// Handlers under test log and emit metrics through Powertools; keep the test output readable.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
// The AWS SDK's switch for its Node version warning (cli/sdk-warning.ts): set here, it also keeps
// that module's own note out of the tests and of the commands they spawn.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
