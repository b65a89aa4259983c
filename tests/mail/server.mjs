// MailDev for the tests: SMTP (with AUTH) and its REST API on the loopback ports given, until
// standard input closes (the test process that started it ended).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MailDev } from 'maildev';

const [smtp, web, user, pass] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'tessera-maildev-'));
const maildev = new MailDev({
  mailDirectory: dir,
  smtp: Number(smtp),
  ip: '127.0.0.1',
  web: Number(web),
  webIp: '127.0.0.1',
  incomingUser: user,
  incomingPass: pass,
  silent: true,
});
await maildev.start();
console.log('READY');
process.stdin.on('end', async () => {
  await maildev.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
process.stdin.resume();
