// Boots a LAVA job's images (lava-job's vnet-lava-images/) under QEMU the way
// the job's qemu context asks (imx25-pdk, user network restricted, no reboot),
// logs in on the console as LAVA's auto_login does and runs the stage script
// with lava-test-case replaced by a line printer: what a LAVA test shell
// would record, without LAVA. Returns LAVA-export-like records.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface ConsoleCase {
  suite: string;
  name: string;
  result: string;
  measurement?: string;
  unit?: string;
}

const CASE = /^LAVACASE (\S+) --result (\S+)(?: --measurement (\S+) --units (\S+))?\r?$/gm;

/** Runs the stages' scripts on a QEMU booted from the images; the console transcript and the cases each stage printed. */
export async function runStagesUnderQemu(imagesDir: string, stages: readonly number[], append: string, timeoutMs = 240_000): Promise<{ transcript: string; cases: ConsoleCase[] }> {
  // spawns: board:qemu
  const qemu = spawn(
    'setpriv',
    ['--pdeathsig', 'KILL', 'qemu-system-arm', '-M', 'imx25-pdk', '-m', '128M', '-kernel', join(imagesDir, 'zImage'), '-dtb', join(imagesDir, 'board.dtb'), '-initrd', join(imagesDir, 'ramdisk.cpio.gz'), '-append', append, '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nic', 'user,restrict=on', '-no-reboot'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let transcript = '';
  let waiter: { re: RegExp; from: number; resolve: () => void } | undefined;
  const check = () => {
    if (waiter && waiter.re.test(transcript.slice(waiter.from))) {
      const w = waiter;
      waiter = undefined;
      w.resolve();
    }
  };
  qemu.stdout.on('data', (b: Buffer) => {
    transcript += b.toString('latin1');
    check();
  });
  qemu.stderr.on('data', (b: Buffer) => (transcript += b.toString('latin1')));
  const exited = new Promise<void>((resolve) => qemu.on('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  const until = (re: RegExp, from: number) =>
    Promise.race([
      new Promise<void>((resolve) => {
        waiter = { re, from, resolve };
        check();
      }),
      exited.then(() => {
        throw new Error(`QEMU ended before ${re}; console:\n${transcript.slice(-3000)}`);
      }),
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`no ${re} on the console in time; console:\n${transcript.slice(-3000)}`)), Math.max(1, deadline - Date.now()))),
    ]);
  const cases: ConsoleCase[] = [];
  try {
    await until(/login: $/m, 0);
    qemu.stdin.write('root\n');
    await until(/# (\x1b\[6n)?$/, 0);
    for (const stage of stages) {
      const from = transcript.length;
      const marker = `END-OF-STAGE-${stage}`;
      qemu.stdin.write(`VNET_TC="echo LAVACASE" sh /usr/lib/vnet-harness/vnet-stage.sh ${stage}; echo ${marker.replace('-OF', "-''OF")}\n`);
      await until(new RegExp(`^${marker}\\r?$`, 'm'), from);
      for (const m of transcript.slice(from).matchAll(CASE)) {
        cases.push({ suite: `${stage}_vnet-stage${stage}`, name: m[1] ?? '', result: m[2] ?? '', ...(m[3] ? { measurement: m[3], unit: m[4] ?? '' } : {}) });
      }
    }
    qemu.stdin.write('poweroff -f\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  } finally {
    qemu.kill('SIGKILL');
  }
  return { transcript, cases };
}
