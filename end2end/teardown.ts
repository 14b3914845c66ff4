// Removes every key the browser tests wrote under their own prefix.
import { execFileSync } from 'node:child_process';

export default async function teardown() {
  const prefix = process.env.HEARTH_E2E_PREFIX;
  const url = process.env.HEARTH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!prefix || !prefix.startsWith('e2e:')) return;
  const script = "local n=0 local c='0' repeat local r=redis.call('SCAN',c,'MATCH',ARGV[1],'COUNT',1000) c=r[1] for _,k in ipairs(r[2]) do redis.call('UNLINK',k) n=n+1 end until c=='0' return n";
  try {
    execFileSync('redis-cli', ['-u', url, 'EVAL', script, '0', `${prefix}*`], { stdio: 'ignore' });
  } catch {
    // redis-cli missing: the keys carry TTLs or are left for the next cleanup; not a test failure.
  }
}
