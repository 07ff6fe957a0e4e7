// The emulated board end to end, through the CLI as a user runs it: boot,
// run a command, exit code passes through, the guest has no default route,
// and no QEMU outlives the harness (failing command, SIGTERM).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../src/paths.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'vnet-harness.js');

/** The qemu pid the harness reports on stderr. */
function qemuPid(stderr: string): number {
  const m = /qemu pid (\d+)/.exec(stderr);
  if (!m) throw new Error(`no "qemu pid" in the harness output:\n${stderr}`);
  return Number(m[1]);
}

/** Whether a pid is a live QEMU (not a reused pid of something else). */
function isQemu(pid: number): boolean {
  const comm = `/proc/${pid}/comm`;
  if (!existsSync(comm)) return false;
  try {
    return readFileSync(comm, 'utf8').startsWith('qemu-system');
  } catch {
    return false;
  }
}

describe('emulated board (qemu-imx25) through the CLI @board', function () {
  // The first test may build the kernel (cold cache: minutes).
  this.timeout(45 * 60_000);

  it('boots and runs `uname -m` → armv5tejl, then reaps QEMU', async () => {
    const r = await execa('node', [BIN, 'boot', '--board', 'qemu-imx25', '--', 'uname', '-m'], { reject: false });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('armv5tejl');
    expect(isQemu(qemuPid(r.stderr)), 'QEMU still running after the harness exited').to.equal(false);
  });

  it('passes the command\'s exit code through and reaps QEMU after a failing command', async () => {
    const r = await execa('node', [BIN, 'boot', '--', 'echo out; echo err >&2; exit 7'], { reject: false });
    expect(r.exitCode).to.equal(7);
    expect(r.stdout.trim()).to.equal('out');
    expect(r.stderr).to.contain('err');
    expect(isQemu(qemuPid(r.stderr))).to.equal(false);
  });

  it('reports 127 for a command that does not exist', async () => {
    const r = await execa('node', [BIN, 'boot', '--', 'no-such-command-here'], { reject: false });
    expect(r.exitCode).to.equal(127);
  });

  it('gives the guest no default route and only its static address', async () => {
    const r = await execa('node', [BIN, 'boot', '--', 'ip route; echo ---; ip -4 addr show eth0'], { reject: false });
    expect(r.exitCode, r.stderr).to.equal(0);
    const [routes = '', addr = ''] = r.stdout.split('---');
    expect(routes).not.to.match(/default/);
    expect(routes.trim()).to.equal('10.0.2.0/24 dev eth0 scope link  src 10.0.2.15');
    expect(addr).to.contain('inet 10.0.2.15/24');
  });

  it('kills QEMU when the harness gets SIGTERM mid-command', async () => {
    const child = execa('node', [BIN, 'boot', '--', 'sleep 60'], { reject: false });
    let stderr = '';
    const pid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no qemu pid within 120 s:\n${stderr}`)), 120_000);
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /qemu pid (\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    expect(isQemu(pid)).to.equal(true);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode ?? r.signal).to.not.equal(0);
    // The reaper kills synchronously before exiting; allow the kernel a moment to remove it.
    const deadline = Date.now() + 5000;
    while (isQemu(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(isQemu(pid), `QEMU ${pid} survived SIGTERM of the harness`).to.equal(false);
  });
});
