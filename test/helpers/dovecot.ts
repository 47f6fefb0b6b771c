import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A private Dovecot IMAP server for tests: its own config, base_dir and maildirs in a temp
 * folder, listening on 127.0.0.1 at a random free port, plaintext login without TLS, no auth
 * delay. Nothing from /etc/dovecot and no system service is used. As a normal user every
 * process runs as that user; as root (CI containers) the login process runs as Debian's
 * `dovenull` and mail belongs to `dovecot`, since Dovecot refuses root for both.
 *
 * Dovecot's auth penalty slows every login from an address after a failed one: a test that
 * logs in with a wrong password should use a server of its own.
 */

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  host: string;
  port: number;
  users: DovecotUser[];
  /** imap://user:pass@127.0.0.1:port for the given user (default: the first). */
  url(user?: string): string;
  /** The server's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  users?: DovecotUser[];
  /** Milliseconds to wait for the port to accept. Default 10 s. */
  startTimeoutMs?: number;
}

const CANDIDATES = [process.env.DOVECOT_BIN, '/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];

function dovecotBinary(): string {
  for (const path of CANDIDATES) if (path && existsSync(path)) return path;
  throw new Error(
    'Dovecot is not installed: the IMAP tests need it (Debian: apt-get install -y dovecot-imapd; .ci/run does this)',
  );
}

/** 2.4 renamed and reshaped many settings; the tests' config is written for the series installed. */
function dovecotVersion(binary: string): { major: number; minor: number } {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  const m = /^(\d+)\.(\d+)/.exec(out.trim());
  if (!m) throw new Error(`cannot read the Dovecot version from "${out.trim()}"`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString('latin1').startsWith('* OK'));
    });
    socket.once('error', () => resolve(false));
    // A master whose login process failed accepts the connection but never greets.
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 1000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

interface Layout {
  dir: string;
  port: number;
  uid: number;
  gid: number;
  /** Runs anvil, stats, auth: the current user, or Debian's `dovecot` when root. */
  internalUser: string;
  internalGroup: string;
  /** Runs imap-login, which refuses root: Debian's `dovenull` when root. */
  loginUser: string;
}

function config23(l: Layout): string {
  return `
base_dir = ${l.dir}/run
state_dir = ${l.dir}/state
instance_name = standwall-test-${l.port}
log_path = ${l.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = ${l.internalUser}
default_internal_group = ${l.internalGroup}
default_login_user = ${l.loginUser}
first_valid_uid = ${l.uid}
last_valid_uid = ${l.uid}
first_valid_gid = ${l.gid}
mail_location = maildir:${l.dir}/mail/%u
mail_uid = ${l.uid}
mail_gid = ${l.gid}
mail_max_userip_connections = 100
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${l.dir}/users
}
userdb {
  driver = static
  args = uid=${l.uid} gid=${l.gid} home=${l.dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${l.port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
`;
}

/** Written from the 2.4 documentation; only the 2.3 series (Debian 12) has run it so far. */
function config24(l: Layout): string {
  return `
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
base_dir = ${l.dir}/run
state_dir = ${l.dir}/state
instance_name = standwall-test-${l.port}
log_path = ${l.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
default_internal_user = ${l.internalUser}
default_internal_group = ${l.internalGroup}
default_login_user = ${l.loginUser}
first_valid_uid = ${l.uid}
last_valid_uid = ${l.uid}
first_valid_gid = ${l.gid}
mail_driver = maildir
mail_path = ${l.dir}/mail/%{user}
mail_uid = ${l.uid}
mail_gid = ${l.gid}
mail_max_userip_connections = 100
passdb passwd-file {
  passwd_file_path = ${l.dir}/users
}
userdb static {
  fields {
    uid = ${l.uid}
    gid = ${l.gid}
    home = ${l.dir}/home/%{user}
  }
}
service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = ${l.port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
`;
}

function systemUser(name: string): { uid: number; gid: number } {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`no system user "${name}": install Debian's dovecot-core, which creates it`);
}

function groupNameOf(gid: number): string {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === gid) return name;
    }
  } catch {
    // no /etc/group: fall through
  }
  throw new Error(`no group name for gid ${gid}`);
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function launch(binary: string, options: DovecotOptions, attempt: number): Promise<Dovecot> {
  const users = options.users ?? [{ user: 'supporters', password: 'campaign-secret' }];
  const me = userInfo();
  const asRoot = me.uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'dovecot-'));
  for (const sub of ['run', 'state', 'mail', 'home']) mkdirSync(join(dir, sub));
  // Dovecot refuses uid 0 for mail processes: as root, the mail belongs to the `dovecot` user.
  const owner = asRoot ? systemUser('dovecot') : { uid: me.uid, gid: me.gid };
  if (asRoot) for (const sub of ['mail', 'home']) chownSync(join(dir, sub), owner.uid, owner.gid);
  const layout: Layout = {
    dir,
    port: await freePort(),
    uid: owner.uid,
    gid: owner.gid,
    // imap-login refuses to run as root; the package's system users take the unprivileged parts.
    internalUser: asRoot ? 'dovecot' : me.username,
    internalGroup: asRoot ? 'dovecot' : groupNameOf(me.gid),
    loginUser: asRoot ? 'dovenull' : me.username,
  };
  // The unprivileged processes reach their sockets under base_dir through this folder.
  chmodSync(dir, 0o755);
  const version = dovecotVersion(binary);
  const is24 = version.major > 2 || (version.major === 2 && version.minor >= 4);
  const configFile = join(dir, 'dovecot.conf');
  writeFileSync(configFile, is24 ? config24(layout) : config23(layout));
  writeFileSync(join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.password}::::::\n`).join(''));

  const child = spawn(binary, ['-F', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const readLog = () => {
    const file = join(dir, 'dovecot.log');
    return output + (existsSync(file) ? readFileSync(file, 'utf8') : '');
  };
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await accepts(layout.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = readLog();
      child.kill('SIGKILL');
      await waitForExit(child, 2000);
      cleanup();
      // Another process may have taken the port between freePort() and dovecot's bind.
      if (attempt < 3 && /Address already in use/i.test(log)) return launch(binary, options, attempt + 1);
      throw new Error(`dovecot did not start on 127.0.0.1:${layout.port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    host: '127.0.0.1',
    port: layout.port,
    users,
    url(user = users[0]?.user ?? '') {
      const entry = users.find((u) => u.user === user);
      if (!entry) throw new Error(`no such test user ${user}`);
      return `imap://${encodeURIComponent(entry.user)}:${encodeURIComponent(entry.password)}@127.0.0.1:${layout.port}`;
    },
    log: readLog,
    async stop() {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 2000);
      }
      cleanup();
    },
  };
}

/** Starts a private Dovecot; call stop() when done (it also removes its temp folder). */
export function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  return launch(dovecotBinary(), options, 0);
}
