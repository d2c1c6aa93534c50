/**
 * The TCP sockets processes listen on, read from /proc as `ss -ltnp` does: /proc/net/tcp{,6}
 * lists every listening socket with its inode, /proc/<pid>/fd links name the inodes a process holds.
 */
import fs from 'node:fs';

export interface ListeningSocket {
  readonly pid: number;
  readonly command: string;
  readonly address: string;
  readonly port: number;
}

const listenState = '0A';

function listeningInodes(): Map<string, { address: string; port: number }> {
  const found = new Map<string, { address: string; port: number }>();
  for (const [file, decode] of [
    ['/proc/net/tcp', ipv4],
    ['/proc/net/tcp6', ipv6],
  ] as const) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state] = fields.slice(1, 4);
      const inode = fields[9];
      if (local === undefined || state !== listenState || inode === undefined) continue;
      const [hex, port] = local.split(':');
      if (hex === undefined || port === undefined) continue;
      found.set(inode, { address: decode(hex), port: parseInt(port, 16) });
    }
  }
  return found;
}

/** /proc/net/tcp writes an IPv4 address as one little-endian 32-bit hex word. */
function ipv4(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  return bytes
    .map((byte) => parseInt(byte, 16))
    .reverse()
    .join('.');
}

/** Four little-endian words; v4-mapped addresses are shown as IPv4. */
function ipv6(hex: string): string {
  const words = (hex.match(/.{8}/g) ?? []).map((word) => (word.match(/../g) ?? []).reverse().join(''));
  const groups = words.join('').match(/.{4}/g) ?? [];
  const text = groups.map((group) => parseInt(group, 16).toString(16)).join(':');
  if (text.startsWith('0:0:0:0:0:ffff:')) return ipv4(hex.slice(24));
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  return text;
}

/** The processes in these process groups (each stack component is the leader of its own). */
export function processesInGroups(leaders: readonly number[]): number[] {
  const wanted = new Set(leaders);
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        // The command may hold spaces and parentheses: the fields after the last ')' are fixed.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        return wanted.has(pgid);
      } catch {
        return false;
      }
    });
}

/** Every listening TCP socket of these processes. */
export function listeningSockets(pids: readonly number[]): ListeningSocket[] {
  const inodes = listeningInodes();
  return pids.flatMap((pid) => {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      return [];
    }
    const command = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const held = new Set(
      fds.flatMap((fd) => {
        try {
          const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
          const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
          return inode === undefined ? [] : [inode];
        } catch {
          return [];
        }
      }),
    );
    return [...held].flatMap((inode) => {
      const socket = inodes.get(inode);
      return socket === undefined ? [] : [{ pid, command, ...socket }];
    });
  });
}
