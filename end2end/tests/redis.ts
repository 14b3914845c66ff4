// redis-cli against the Redis the browser tests' Hearth instances use.
import { execFileSync } from 'node:child_process';

const url = process.env.HEARTH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const redis = (...args: string[]) => execFileSync('redis-cli', ['-u', url, ...args]).toString().trim();
