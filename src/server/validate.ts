import type { ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';

/**
 * Validates one part of the request with zod. A bad input gets a 400 naming each wrong
 * field and what is wrong with it, and the handler never runs.
 */
export function zValidator<T extends keyof ValidationTargets, S extends z.ZodType>(
  target: T,
  schema: S,
  options: { optional?: boolean } = {},
) {
  return validator(target, async (value, c) => {
    let input: unknown = value;
    if (target === 'json' && options.optional) {
      const type = c.req.header('content-type') ?? '';
      if (!type.includes('application/json')) input = undefined;
    }
    const result = await schema.safeParseAsync(input);
    if (result.success) return result.data as z.output<S>;
    const problems = result.error.issues.map((issue) => ({
      field: issue.path.join('.') || target,
      message: issue.message,
    }));
    return c.json({ error: problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems }, 400);
  });
}
