#!/usr/bin/env node
import { buildApp } from '../lib/pipeline-app';

buildApp();
