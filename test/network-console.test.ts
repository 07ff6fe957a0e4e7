// A board whose console is shared over the network (ser2net's raw TCP port,
// labgrid's NetworkSerialPort), on loopback: socat bridges the emulated
// board's console pty to a TCP port, and a real-board YAML names that port as
// `serial.network`. Through it: the boot captured from power-on, the serial
// transport's login and commands, kernel fault watching, and a stage run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { openBoard, type BoardTarget } from '../src/board/target.ts';
import { loadBoard } from '../src/config/board.ts';
import type { EmulatedBoardConfig } from '../src/config/types.ts';
import { prepareImages, type EmulatedImages } from '../src/emulated/machine.ts';
import { freePort, QemuInstance } from '../src/emulated/qemu.ts';
import { perRunArchive } from '../src/emulated/rootfs.ts';
import { KernelEventWatcher } from '../src/parsers/kernel-events.ts';
import { runSuites } from '../src/stages/runner.ts';
import { buildModules } from '../src/build/modules.ts';
import { generateClientKey } from '../src/transport/ssh.ts';
import { silentProgress } from '../src/util/progress.ts';

const REPO = resolve(import.meta.dirname, '..');
const BOARDS = join(REPO, 'boards');

describe('a console shared over the network (ser2net raw TCP, bridged by socat on loopback) @board', function () {
  this.timeout(10 * 60_000);
  let dir = '';
  let images: EmulatedImages;
  let qemu: QemuInstance | undefined;
  let socat: ChildProcess | undefined;
  let board: BoardTarget | undefined;
  let consolePort = 0;
  let boardFile = '';

  before(async function () {
    this.timeout(45 * 60_000);
    const emulated = loadBoard('qemu-imx25', { boardsDir: BOARDS }) as EmulatedBoardConfig;
    images = await prepareImages(emulated, silentProgress());
    dir = await mkdtemp(join(tmpdir(), 'vnet-netconsole-'));
    const key = await generateClientKey({ comment: 'vnet-harness-network-console-test' });
    await writeFile(join(dir, 'id_board'), key.privateKey);
    await chmod(join(dir, 'id_board'), 0o600);
    // The per-run initramfs: the base image and the key, as the emulated board makes it.
    const base = await readFile(images.rootfs.initrd);
    const initrd = join(dir, 'initrd.img');
    await writeFile(initrd, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), perRunArchive(`${key.authorizedKey}\n`)]));
    const e = emulated.emulated;
    // Started paused: the "power on" of the board file below lets it run.
    qemu = await QemuInstance.start(
      { binary: e.qemu, machine: e.machine, memory: e.memory, kernel: images.kernel.image, dtb: images.kernel.dtb, initrd, append: e.append },
      'netconsole-host',
    );
    consolePort = await freePort();
    // ser2net's raw mode: one TCP client gets the line's bytes both ways.
    // Without fork, socat serves exactly one client, as ser2net's raw port does: no probing connection.
    // spawns: socat
    socat = spawn('socat', ['-d', '-d', `TCP-LISTEN:${consolePort},bind=127.0.0.1,reuseaddr`, `FILE:${qemu.consolePty},raw,echo=0`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const listening = socat;
    await new Promise<void>((resolveListen, reject) => {
      let said = '';
      listening.stderr!.on('data', (d: Buffer) => {
        said += d.toString();
        if (/listening on/.test(said)) resolveListen();
      });
      listening.once('exit', (code) => reject(new Error(`socat exited (${code}): ${said}`)));
    });
    await mkdir(join(dir, 'tree'));
    boardFile = join(dir, 'lab-netconsole.yaml');
    await writeFile(
      boardFile,
      [
        'name: lab-netconsole',
        'arch: arm',
        'cross_compile: arm-linux-gnueabi-',
        `kernel_tree: ${images.kernel.buildTree}`,
        'ssh:',
        '  host: 127.0.0.1',
        `  port: ${qemu.sshPort}`,
        '  user: root',
        '  key_file: ./id_board',
        `  host_key: "${images.rootfs.meta.hostKeyFingerprint}"`,
        'serial:',
        `  network: { host: 127.0.0.1, port: ${consolePort} }`,
        '  login_user: root',
        'power:',
        '  on: "touch powered-on"',
        'default_transport: serial',
        'timeouts: { command: 30, boot: 60, stage: 180 }',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await board?.close();
    if (socat?.pid !== undefined && socat.exitCode === null) socat.kill('SIGKILL');
    await qemu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('captures the boot from power-on and logs in over it (serial transport)', async () => {
    const config = loadBoard(boardFile, { boardsDir: BOARDS });
    expect(config.kind === 'real' && config.serial?.network).to.deep.equal({ host: '127.0.0.1', port: consolePort });
    // The power-on command marks the moment; the test plays the relay and lets QEMU run.
    const poweredOn = (async () => {
      for (let i = 0; i < 600 && !existsSync(join(dir, 'powered-on')); i++) await new Promise((r) => setTimeout(r, 50));
      await qemu!.resume();
    })();
    board = await openBoard(config, { progress: silentProgress(), transport: 'serial' });
    await poweredOn;
    expect(board.warnings).to.deep.equal([]);
    const r = await board.run('uname -m; echo via-network-console; exit 3');
    expect(r.stdout).to.equal('armv5tejl\nvia-network-console\n');
    expect(r.exitCode).to.equal(3);
    const transcript = board.console.transcript();
    // Connected before power-on: the kernel's first lines are there.
    expect(transcript).to.contain('Booting Linux on physical CPU');
    expect(transcript).to.contain('via-network-console');
  });

  it('watches kernel faults through it: a WARNING printed by the kernel reaches the watcher', async () => {
    if (!board) throw new Error('the board did not open (see the previous test)');
    const live = board.console.current();
    if (!live) throw new Error('no console');
    const mark = live.mark();
    // At KERN_EMERG: the serial shell sets `dmesg -n 1` after login (kernel chatter would break the
    // prompt), so only level-0 messages reach this console, as an oops's and a panic's do.
    await board.run(
      "printf '<0>WARNING: CPU: 0 PID: 1 at drivers/net/vnet_netconsole.c:1 vnet_netconsole_test+0x0/0x4\\n' > /dev/kmsg; " +
        "printf '<0>---[ end trace 0000000000000000 ]---\\n' > /dev/kmsg",
    );
    await new Promise((r) => setTimeout(r, 500));
    const watcher = new KernelEventWatcher();
    watcher.feed(live.rawSince(mark));
    const events = [...watcher.events(), ...watcher.flush()];
    expect(events.map((e) => [e.class, e.firstLine])).to.deep.equal([
      ['warning', 'WARNING: CPU: 0 PID: 1 at drivers/net/vnet_netconsole.c:1 vnet_netconsole_test+0x0/0x4'],
    ]);
  });

  it('runs stage 1 of the project\'s drivers over it', async () => {
    if (!board) throw new Error('the board did not open (see the first test)');
    const [build] = await buildModules({
      board: 'lab-netconsole',
      kernelDir: images.kernel.buildTree,
      arch: 'arm',
      crossCompile: 'arm-linux-gnueabi-',
      sourceDir: join(REPO, 'kernel-modules', 'virt_net'),
      buildDir: join(dir, 'build'),
      stages: [1],
    });
    const stages = await runSuites({
      stages: [1],
      reporter: 'dot',
      context: { board, builds: new Map([[1, build!]]), stageTimeoutMs: 180_000, log: () => {} },
    });
    expect(stages.map((s) => [s.stage, s.verdict, s.reason ?? ''])).to.deep.equal([[1, 'pass', '']]);
  });
});
