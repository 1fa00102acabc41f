#!/usr/bin/env node
import { buildApp } from '../lib/pipeline-app';

try {
  buildApp();
} catch (error) {
  // A bad context value (lib/config.ts) says which and why; a stack trace would only bury that.
  if (!(error instanceof Error) || !error.message.startsWith('invalid CDK context')) throw error;
  console.error(error.message);
  process.exit(1);
}
