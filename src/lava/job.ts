// A LAVA job definition that runs the harness's four stages on a LAVA lab's
// board: deploy the board's kernel, device tree and an initramfs carrying the
// stage modules, the board-side probe and the stage script (stage-script.ts),
// boot it, then one inline test definition per stage whose one step runs
// the script: it reports every check of the stage with lava-test-case, same
// ids as suites/stageN.ts. Pure: the artifacts are made by artifacts.ts.
import { stringify } from 'yaml';
import { stagePlan } from '../stages/plan.ts';
import { LAVA_BOARD_DIR } from './stage-script.ts';

/** The LAVA suite name of a stage's test definition (LAVA prefixes it with the definition's index: `1_vnet-stage1`). */
export function stageDefinitionName(stage: number): string {
  return `vnet-stage${stage}`;
}

/** Where the three images are fetched from. */
export interface JobImages {
  kernel: string;
  dtb: string;
  /** A gzip-compressed newc cpio. */
  ramdisk: string;
}

export interface LavaJobOptions {
  board: string;
  /** Emulated: LAVA's `qemu` device type running QEMU's imx25-pdk; real: a lab's device type booted by u-boot. */
  target: { kind: 'qemu'; machine: string; memoryMiB: number; append: string } | { kind: 'u-boot'; deviceType: string };
  images: JobImages;
  stages: readonly number[];
  /** Minutes for the whole job. */
  jobMinutes?: number;
  /** The driver tree's revision, in the job's metadata (LAVA keeps it with the results). */
  driverRevision?: string;
  /**
   * Who runs the job: `lab` (default), a LAVA server's dispatcher, the job valid by the server's
   * strict schema; `lava-run`, Debian's dispatcher run locally on the emulated board, whose qemu
   * boot puts only images with an `image_arg` on QEMU's command line (a key the strict schema
   * refuses under a tftp deploy, which the dispatcher's own, non-strict, validation accepts).
   */
  variant?: JobVariant;
}

/** The two jobs lava-job writes: for a LAVA lab, or for Debian's lava-run on this host (emulated board only). */
export const JOB_VARIANTS = ['lab', 'lava-run'] as const;
export type JobVariant = (typeof JOB_VARIANTS)[number];

/** QEMU's options for the images of a tftp deploy, for LAVA's qemu boot (lava-run variant): `{kernel}` is replaced by the image's path. */
export const QEMU_IMAGE_ARGS = { kernel: '-kernel {kernel}', dtb: '-dtb {dtb}', ramdisk: '-initrd {ramdisk}' } as const;

/** The shell prompt of the initramfs's busybox as root, and its console login. */
const PROMPTS = ['/root # ', '/ # ', '~ # '];
const LOGIN = { login_prompt: 'login:', username: 'root' };

/** The job as data, the way LAVA's schema (lava_common.schemas) reads it. */
export function lavaJob(o: LavaJobOptions): Record<string, unknown> {
  const emulated = o.target.kind === 'qemu';
  const local = o.variant === 'lava-run';
  if (local && !emulated) throw new Error('the lava-run job is for the emulated board (LAVA\'s qemu device type) only');
  const arg = (image: keyof typeof QEMU_IMAGE_ARGS) => (local ? { image_arg: QEMU_IMAGE_ARGS[image] } : {});
  const deploy: Record<string, unknown> = {
    to: 'tftp',
    timeout: { minutes: 5 },
    os: 'oe',
    kernel: { url: o.images.kernel, type: 'zimage', ...arg('kernel') },
    dtb: { url: o.images.dtb, ...arg('dtb') },
    ramdisk: { url: o.images.ramdisk, compression: 'gz', install_overlay: true, install_modules: false, ...(emulated ? {} : { header: 'u-boot' }), ...arg('ramdisk') },
  };
  const boot: Record<string, unknown> =
    o.target.kind === 'qemu'
      ? { method: 'qemu', media: 'tmpfs', timeout: { minutes: 3 }, auto_login: LOGIN, prompts: PROMPTS }
      : { method: 'u-boot', commands: 'ramdisk', timeout: { minutes: 5 }, auto_login: LOGIN, prompts: PROMPTS };
  const definitions = o.stages.map((stage) => ({
    from: 'inline',
    name: stageDefinitionName(stage),
    path: `inline/${stageDefinitionName(stage)}.yaml`,
    repository: {
      metadata: {
        format: 'Lava-Test Test Definition 1.0',
        name: stageDefinitionName(stage),
        description: `virt_net stage ${stage} (${stagePlan(stage).title}): the checks of vnet-harness suites/stage${stage}.ts, one lava-test-case each`,
      },
      run: { steps: [`sh ${LAVA_BOARD_DIR}/vnet-stage.sh ${stage}`] },
    },
  }));
  const job: Record<string, unknown> = {
    device_type: o.target.kind === 'qemu' ? 'qemu' : o.target.deviceType,
    job_name: `vnet-harness ${o.board}: virt_net stages ${o.stages.join(',')}${local ? ' (lava-run)' : ''}`,
    timeouts: { job: { minutes: o.jobMinutes ?? 30 }, action: { minutes: 5 }, connection: { minutes: 2 } },
    priority: 'medium',
    visibility: 'public',
    metadata: { 'vnet-harness.board': o.board, ...(o.driverRevision ? { 'vnet-harness.driver': o.driverRevision } : {}) },
  };
  if (o.target.kind === 'qemu') {
    // QEMU's user network, restricted: the guest reaches nothing outside (3.3.3.x are public
    // addresses), and the initramfs sets no default route. The console is the i.MX25's first UART.
    // These override LAVA's qemu.jinja2 defaults (cortex-a57, machine virt, a virtio NIC on an
    // unrestricted user network, 512 MB): the one NIC is the i.MX25's FEC.
    job.context = {
      arch: 'arm',
      machine: o.target.machine,
      cpu: 'arm926',
      memory: o.target.memoryMiB,
      model: 'model=imx.fec',
      netdevice: 'user,restrict=on',
      no_kvm: true,
      extra_options: ['-no-reboot', '-append', JSON.stringify(o.target.append)],
    };
  }
  job.actions = [{ deploy }, { boot }, { test: { timeout: { minutes: 5 * o.stages.length }, definitions } }];
  return job;
}

/** The job as LAVA takes it (YAML). */
export function lavaJobYaml(o: LavaJobOptions): string {
  return `# Generated by vnet-harness lava-job (src/lava/job.ts)\n${stringify(lavaJob(o), { lineWidth: 0 })}`;
}
