// SSH key material: host key fingerprints as OpenSSH prints them, and the
// per-run client key the harness installs on the emulated board.

import { createHash, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A pinned host key: `SHA256:` and 43 base64 characters (32 bytes, no `=` padding). */
export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** OpenSSH's `SHA256:` fingerprint of a raw public key blob (as in `ssh-keygen -l`). */
export function fingerprintOf(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The fingerprint of an `authorized_keys`/`.pub` line such as `ssh-ed25519 AAAA… comment`. */
export function fingerprintOfPublicKeyLine(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (blob === undefined || !/^[A-Za-z0-9+/]+=*$/.test(blob)) {
    throw new Error(`not an OpenSSH public key line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  return fingerprintOf(Buffer.from(blob, 'base64'));
}

export interface ClientKey {
  type: 'ed25519' | 'rsa';
  /** Private key in a format ssh2 parses (OpenSSH for ed25519, PKCS#1 PEM for RSA). */
  privateKey: string;
  /** The `authorized_keys` line: `ssh-ed25519 AAAA… comment`. */
  authorizedKey: string;
  /** `SHA256:` fingerprint of the public key. */
  fingerprint: string;
}

/** Makes a fresh client key pair (ed25519 by default) and its authorized_keys line. */
export async function generateClientKey(
  options: { type?: 'ed25519' | 'rsa'; comment?: string } = {},
): Promise<ClientKey> {
  const type = options.type ?? 'ed25519';
  const comment = options.comment ?? 'vnet-harness';
  let privateKey: string;
  if (type === 'rsa') {
    // ssh2 reads PKCS#1 PEM but not PKCS#8, which is node's default.
    const pair = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    privateKey = pair.privateKey;
  } else {
    // ssh2 reads ed25519 only in OpenSSH's own format, which node cannot write.
    const pair = await generateKeyPairAsync('ed25519');
    privateKey = openSshEd25519Pem(pair.privateKey, comment);
  }
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`generated ${type} key does not parse: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined) throw new Error(`generated ${type} key does not parse`);
  const blob = key.getPublicSSH();
  return {
    type,
    privateKey,
    authorizedKey: `${key.type} ${blob.toString('base64')} ${comment}`,
    fingerprint: fingerprintOf(blob),
  };
}

/** Length-prefixed SSH wire string. */
function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** Writes an unencrypted ed25519 key in the `openssh-key-v1` format (PROTOCOL.key). */
function openSshEd25519Pem(privateKey: KeyObject, comment: string): string {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.d === undefined || jwk.x === undefined) throw new Error('ed25519 key export lacks d/x');
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  const parts = [
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ];
  let section = Buffer.concat(parts);
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    count,
    sshString(pubBlob),
    sshString(section),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
