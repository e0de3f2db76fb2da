#!/usr/bin/env node
// The hashgrid command: compiled code lives in dist/ (npm run build).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
