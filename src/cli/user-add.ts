import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createAuthService, passwordSchema, ROLES, usernameSchema } from '../auth/auth.ts';
import { createContext } from '../context.ts';
import { runCli, UsageError } from './run.ts';

const USAGE =
  'usage: npm run user:add -- --username NAME --role admin|moderator   (password from STANDWALL_PASSWORD or a prompt)';

async function promptPassword(): Promise<string> {
  if (!process.stdin.isTTY)
    throw new UsageError('no password: set STANDWALL_PASSWORD or run in a terminal to be asked');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Hide what is typed: readline echoes through _writeToOutput.
  const writer = rl as unknown as { _writeToOutput: (s: string) => void };
  let muted = false;
  writer._writeToOutput = (s: string) => {
    if (!muted) process.stderr.write(s);
  };
  const ask = async (label: string) => {
    const answer = rl.question(label);
    muted = true;
    const value = await answer;
    muted = false;
    process.stderr.write('\n');
    return value;
  };
  try {
    const first = await ask('password: ');
    const second = await ask('again: ');
    if (first !== second) throw new UsageError('the two passwords differ');
    return first;
  } finally {
    rl.close();
  }
}

runCli(async () => {
  const { values } = parseArgs({
    options: {
      username: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const parsed = z
    .object({ username: usernameSchema, role: z.enum(ROLES, { message: 'must be admin or moderator' }) })
    .safeParse(values);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n');
    throw new UsageError(`${why}\n${USAGE}`);
  }
  const password = process.env.STANDWALL_PASSWORD || (await promptPassword());
  const checked = passwordSchema.safeParse(password);
  if (!checked.success) throw new UsageError(`password ${checked.error.issues[0]?.message}`);

  const ctx = createContext();
  try {
    const auth = createAuthService(ctx.db);
    const organizer = await auth
      .addOrganizer(parsed.data.username, password, parsed.data.role)
      .catch((error: Error) => {
        throw new UsageError(error.message);
      });
    process.stdout.write(`created ${organizer.role} "${organizer.username}"\n`);
    return 0;
  } finally {
    ctx.close();
  }
});
