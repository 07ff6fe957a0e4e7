// The device file Debian's lava-run needs for the emulated board: what a LAVA
// server would hand its dispatcher for a qemu device running the lava-run job,
// rendered the server's way (jinja2 over lava-server's device-type templates,
// a device dictionary extending qemu.jinja2, the job's context as the
// template's variables), with Debian's own Python and python3-jinja2 (a
// dependency of lava-dispatcher). The job's context overrides the template's
// defaults (cortex-a57, machine virt, a virtio NIC on an unrestricted user
// network); one thing only a lab's own device type could change is added
// after rendering: `tftp` among the deploy methods (LAVA's qemu template lists
// nfs, lxc and image, and its tmpfs deploy needs libguestfs and a host kernel).
import { spawnSync } from 'node:child_process';
import { HarnessError } from '../errors.ts';

/** Debian's Python (lava-dispatcher's), not whatever python3 comes first in PATH. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** The device dictionary of the emulated board's qemu device (a lab keeps one per device). */
export const QEMU_DEVICE_DICTIONARY = "{% extends 'qemu.jinja2' %}\n{% set no_kvm = True %}\n";

const RENDER = `
import json, sys
import jinja2, yaml
templates, context = sys.argv[1], json.loads(sys.argv[2])
# As lava-server renders a device: its dictionary extends the device type's template; the job's context are the variables.
env = jinja2.Environment(loader=jinja2.FileSystemLoader([templates]), trim_blocks=True, autoescape=False)
device = yaml.safe_load(env.from_string(sys.stdin.read()).render(**context))
methods = device["actions"]["deploy"]["methods"]
if "tftp" not in methods:
    methods["tftp"] = None
sys.stdout.write(yaml.safe_dump(device, default_flow_style=False, sort_keys=False))
`;

/** The device YAML for a qemu job with this context, rendered from the templates in templatesDir. */
export function renderQemuDevice(templatesDir: string, context: Record<string, unknown>, dictionary = QEMU_DEVICE_DICTIONARY): string {
  // spawns: python3
  const r = spawnSync(DEBIAN_PYTHON, ['-c', RENDER, templatesDir, JSON.stringify(context)], { input: dictionary, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new HarnessError(`cannot render the LAVA device file with ${DEBIAN_PYTHON}: ${r.error.message}`);
  if (r.status !== 0) throw new HarnessError(`rendering the LAVA device file from ${templatesDir}/qemu.jinja2 failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return `# Rendered by vnet-harness lava-job --for lava-run (src/lava/device.ts) from lava-server's qemu.jinja2 with the job's context; tftp added to the deploy methods\n${r.stdout}`;
}
