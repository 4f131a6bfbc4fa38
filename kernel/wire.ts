/**
 * The Jupyter wire protocol (messaging spec 5.3): signed multipart messages over ZeroMQ.
 *
 *     [identities..., '<IDS|MSG>', signature, header, parent_header, metadata, content, buffers...]
 *
 * The signature is the HMAC (the connection file's `signature_scheme`, e.g. hmac-sha256) of the
 * four JSON parts with the connection file's key; an empty key means unsigned messages.
 */
import * as crypto from 'crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIM = Buffer.from('<IDS|MSG>');

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message {
  /** The ZeroMQ routing prefix of a request (a reply goes back through the same identities). */
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  content: Record<string, any>;
  buffers: Buffer[];
}

export interface ConnectionInfo {
  transport: string;
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
}

export class Signer {
  private readonly algorithm: string | undefined;
  constructor(private readonly key: string, scheme = 'hmac-sha256') {
    if (!key) {
      this.algorithm = undefined;
      return;
    }
    const m = /^hmac-(.+)$/.exec(scheme);
    const algorithm = m?.[1];
    if (!algorithm || !crypto.getHashes().includes(algorithm)) {
      throw new Error(`kernel: the connection file's signature_scheme '${scheme}' is not supported (valid: hmac-sha256 or another hmac-<hash> Node knows)`);
    }
    this.algorithm = algorithm;
  }

  sign(parts: Array<Buffer | string>): string {
    if (!this.algorithm) return '';
    const h = crypto.createHmac(this.algorithm, this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  verify(signature: string, parts: Buffer[]): boolean {
    if (!this.algorithm) return true;
    const want = Buffer.from(this.sign(parts));
    const got = Buffer.from(signature);
    return want.length === got.length && crypto.timingSafeEqual(want, got);
  }
}

/** Decode the frames of one message; throws with what is wrong (the caller logs and skips it). */
export function decode(frames: Buffer[], signer: Signer): Message {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0) throw new Error('message without the <IDS|MSG> delimiter');
  if (frames.length < at + 6) throw new Error(`message with ${frames.length - at - 1} parts after the delimiter (want signature + 4 JSON parts)`);
  const signature = frames[at + 1].toString();
  const parts = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, parts)) throw new Error('message with an invalid signature');
  const [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString('utf8')));
  return { identities: frames.slice(0, at), header, parent_header: parent ?? {}, metadata: metadata ?? {}, content: content ?? {}, buffers: frames.slice(at + 6) };
}

/** The frames of one message, signed. */
export function encode(
  signer: Signer,
  session: string,
  msgType: string,
  content: object,
  parent: Partial<Header> | undefined,
  identities: Buffer[] = [],
  metadata: object = {},
): Buffer[] {
  const header: Header = {
    msg_id: crypto.randomUUID(),
    session,
    username: 'kernel',
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
  const parts = [header, parent ?? {}, metadata, content].map((p) => Buffer.from(JSON.stringify(p), 'utf8'));
  return [...identities, DELIM, Buffer.from(signer.sign(parts)), ...parts];
}
