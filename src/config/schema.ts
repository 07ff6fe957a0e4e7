// The shape of a board YAML file (snake_case, as written by people). Rules
// that involve several keys (real vs emulated board, files that must exist)
// live in rules.ts so they are checked even when some types are wrong.
import { z } from 'zod';

/** Names of environment variables that hold secrets; the secret itself never lives in YAML. */
export const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** Board names are used in file names (locks, caches, reports). */
export const BOARD_NAME = /^[a-z0-9][a-z0-9._-]*$/;
/** A Debian package name, optionally with an architecture qualifier (`libc6:armel`). */
const DEB_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

/** What a toolchain prefix may hold: a name like arm-linux-gnueabi- or a path like /opt/bsp/bin/arm-none-linux-gnueabi-. */
const TOOLCHAIN_PREFIX_CHARS = /^[A-Za-z0-9._+/~-]*$/;

/** True when `s` is `SHA256:` + the unpadded base64 of exactly 32 bytes, as `ssh-keygen -l` prints. */
export function isSha256Fingerprint(s: string): boolean {
  const m = /^SHA256:([A-Za-z0-9+/]{43})$/.exec(s);
  if (!m) return false;
  const bytes = Buffer.from(m[1]!, 'base64');
  return bytes.length === 32 && bytes.toString('base64').replace(/=+$/, '') === m[1];
}

const nonEmpty = (what: string) =>
  z.string().regex(/\S/, `expected ${what} (a non-empty string)`);
const envName = z
  .string()
  .regex(ENV_NAME, 'expected the NAME of an environment variable (A-Z, 0-9, _, not starting with a digit)');
const seconds = z.number().positive();
const filePath = nonEmpty('a file path');

const sshSchema = z.strictObject({
  host: z.string().regex(/^[^\s]+$/, 'expected a host name or IP address without spaces').optional(),
  port: z.int().min(1).max(65535).default(22),
  user: nonEmpty('a user name').optional(),
  key_file: filePath.optional(),
  host_key: z
    .string()
    .refine(isSha256Fingerprint, {
      message:
        "expected 'SHA256:' followed by 43 base64 characters without '=' padding (as printed by `ssh-keygen -lf`)",
    })
    .optional(),
  passphrase_env: envName.optional(),
  connect_timeout: seconds.default(10),
  keepalive_interval: seconds.default(2),
  keepalive_count_max: z.int().min(1).default(3),
});

/** A console shared over the network as a raw TCP port (ser2net, a terminal server), as labgrid's NetworkSerialPort. */
const networkSerialSchema = z.strictObject({
  host: z.string().regex(/^[^\s]+$/, 'expected a host name or IP address without spaces'),
  port: z.int().min(1).max(65535),
});

const serialSchema = z.strictObject({
  device: filePath.optional(),
  network: networkSerialSchema.optional(),
  baud: z.int().positive().default(115200),
  login_user: nonEmpty('a user name').default('root'),
  password_env: envName.optional(),
  prompt: z
    .string()
    .refine(
      (s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'expected a JavaScript regular expression' },
    )
    .optional(),
});

const kernelSchema = z.strictObject({
  package: z.string().regex(DEB_PACKAGE, 'expected a Debian package name such as linux-source-6.1'),
  defconfig: z.string().regex(/^[A-Za-z0-9_.-]+_defconfig$/, 'expected a defconfig name ending in _defconfig'),
  // One fragment, or several applied in order (a later line wins): a variant
  // board (debug, another kernel) states only what it adds to the base one.
  fragment: z.union([filePath, z.array(filePath).min(1)]),
  // Applied with patch -p1 to the extracted source before configuring, in order.
  patches: z.array(filePath).default([]),
  image: nonEmpty('a kernel image name such as zImage'),
  // Under arch/<arch>/boot/dts/; since 6.5 the i.MX trees are in nxp/imx/.
  dtb: z
    .string()
    .regex(
      /^([A-Za-z0-9_.,-]+\/)*[A-Za-z0-9_.,-]+\.dtb$/,
      'expected a device tree blob path under arch/<arch>/boot/dts/ ending in .dtb, such as imx25-pdk.dtb or nxp/imx/imx25-pdk.dtb',
    )
    .refine((s) => !s.split('/').includes('..') && !s.split('/').includes('.'), { message: 'expected a path without "." or ".." segments' }),
});

const APPLET = /^[a-z][a-z0-9_.-]*$/;

const rootfsSchema = z.strictObject({
  arch: z.string().regex(/^[a-z0-9-]+$/, 'expected a Debian architecture such as armel'),
  packages: z.array(z.string().regex(DEB_PACKAGE, 'expected a Debian package name')).min(1),
  init: filePath,
  inittab: filePath,
  // A userland like an old BSP's: busybox applets whose links the init removes
  // (a busybox that looks commands up in PATH: Debian's busybox, not busybox-static),
  // and scripts that replace an applet's link (they call /bin/busybox NAME themselves).
  omit_applets: z.array(z.string().regex(APPLET, 'expected a busybox applet name such as ip')).default([]),
  wrappers: z.record(z.string().regex(APPLET, 'expected a busybox applet name such as ping'), filePath).default({}),
});

const emulatedSchema = z.strictObject({
  qemu: z.string().regex(/^[A-Za-z0-9_.+/-]+$/, 'expected a QEMU binary name').default('qemu-system-arm'),
  machine: nonEmpty('a QEMU machine name'),
  memory: z.string().regex(/^[1-9][0-9]*[KMG]?$/, 'expected a memory size such as 128M'),
  kernel: kernelSchema,
  rootfs: rootfsSchema,
  append: z.string(),
  ip: z
    .string()
    .regex(
      /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12][0-9]|3[0-2])$/,
      'expected an IPv4 address with prefix length such as 10.0.2.15/24',
    ),
});

const powerSchema = z.strictObject({
  on: nonEmpty('a shell command').optional(),
  off: nonEmpty('a shell command').optional(),
  cycle: nonEmpty('a shell command').optional(),
});

/** The board file as written; cross-key rules are in rules.ts. */
export const boardFileSchema = z.strictObject({
  name: z.string().regex(BOARD_NAME, 'expected a board name of a-z, 0-9, ".", "_", "-"'),
  description: z.string().default(''),
  arch: z.string().regex(/^[a-z0-9_]+$/, 'expected a kernel ARCH such as arm'),
  cross_compile: z
    .string()
    .regex(/-$/, 'expected a toolchain prefix ending in "-" such as arm-linux-gnueabi-')
    // Kbuild pastes it into shell command lines: a backtick or $( would run.
    .regex(TOOLCHAIN_PREFIX_CHARS, 'expected only letters, digits and . _ + - / ~ (the prefix reaches a shell through Kbuild)'),
  kernel_tree: filePath.optional(),
  emulated: emulatedSchema.optional(),
  ssh: sshSchema.optional(),
  serial: serialSchema.optional(),
  power: powerSchema.optional(),
  lock: z.strictObject({ wait: z.number().min(0).default(0) }).optional(),
  timeouts: z
    .strictObject({ command: seconds.default(30), boot: seconds.default(120), stage: seconds.default(180) })
    .default({ command: 30, boot: 120, stage: 180 }),
  default_transport: z.enum(['ssh', 'serial']).optional(),
  // A kernel with kmemleak reports an object only this old (mm/kmemleak.c
  // MSECS_MIN_AGE, 5 s unless patched): each stage's scan waits that long
  // after the stage's last frame.
  kmemleak: z.strictObject({ min_age: z.number().min(0).max(60).default(5) }).optional(),
  host_packages: z.array(z.string().regex(DEB_PACKAGE, 'expected a Debian package name')).default([]),
});

export type BoardFile = z.output<typeof boardFileSchema>;

type Def = { type: string; innerType?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType; format?: string };

/** The schema that validates the value at `path` (optional/default layers removed), for better messages. */
export function schemaAt(path: readonly PropertyKey[]): Def | undefined {
  let def: Def | undefined = unwrap(boardFileSchema);
  for (const seg of path) {
    const next: z.core.$ZodType | undefined =
      def?.type === 'object' ? def.shape?.[String(seg)] : def?.type === 'array' ? def.element : undefined;
    def = next ? unwrap(next) : undefined;
  }
  return def;
}

function unwrap(schema: z.core.$ZodType): Def {
  let def = schema._zod.def as unknown as Def;
  while (def.innerType && ['optional', 'default', 'prefault', 'nullable'].includes(def.type)) {
    def = def.innerType._zod.def as unknown as Def;
  }
  return def;
}
