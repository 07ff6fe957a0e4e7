// A real board's console is a local device or a network port (ser2net, a
// terminal server: labgrid's NetworkSerialPort), never both, and an emulated
// board has neither in its file (the harness connects QEMU's console itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { formatIssue, loadBoard, validateBoardFile } from '../src/config/board.ts';

const repo = path.resolve(import.meta.dirname, '..');
const boardsDir = path.join(repo, 'boards');

describe('config: serial.network (a console shared over TCP)', () => {
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vnet-serial-config-'));
    fs.mkdirSync(path.join(tmp, 'tree'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A real board file with the given serial section lines. */
  const board = (name: string, serial: string[]): string => {
    const file = path.join(tmp, `${name}.yaml`);
    fs.writeFileSync(
      file,
      ['name: lab', 'arch: arm', 'cross_compile: arm-linux-gnueabi-', 'kernel_tree: ./tree', 'serial:', ...serial.map((l) => `  ${l}`), ''].join('\n'),
    );
    return file;
  };
  const issues = (file: string) => validateBoardFile(file).issues.map(formatIssue).map((i) => i.slice(file.length + 1));

  it('takes host and port, and the board keeps them', () => {
    const config = loadBoard(board('net', ['network: { host: ser2net.lab, port: 3003 }', 'login_user: root']), { boardsDir });
    expect(config.kind).to.equal('real');
    if (config.kind !== 'real') return;
    expect(config.serial?.network).to.deep.equal({ host: 'ser2net.lab', port: 3003 });
    expect(config.serial?.device).to.equal(undefined);
    expect(config.defaultTransport).to.equal('serial');
  });

  it('refuses a device and a network port together, a port out of range, and neither', () => {
    expect(issues(board('both', ['device: /dev/ttyUSB0', 'network: { host: a, port: 1 }']))).to.deep.equal([
      '7:3: serial.network: not allowed here: a console is either a local device or a network port, not both; remove it',
    ]);
    expect(issues(board('range', ['network: { host: a, port: 70000 }']))[0]).to.match(/^6:29: serial\.network\.port: expected .*65535/);
    expect(issues(board('neither', ['login_user: root']))[0]).to.match(/serial\.device: missing required key "device" \(.*or serial\.network: \{host, port\}/);
  });

  it('an emulated board may not name one', () => {
    const yaml = fs
      .readFileSync(path.join(boardsDir, 'qemu-imx25.yaml'), 'utf8')
      .replaceAll('qemu-imx25/', `${path.join(boardsDir, 'qemu-imx25')}/`)
      .replace('serial:\n', 'serial:\n  network: { host: 127.0.0.1, port: 4000 }\n');
    const file = path.join(tmp, 'emu.yaml');
    fs.writeFileSync(file, yaml);
    expect(issues(file).join('\n')).to.match(/serial\.network: not allowed here: the harness connects the emulated console itself/);
  });
});
