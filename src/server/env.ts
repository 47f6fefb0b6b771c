import type { Organizer } from '../auth/auth.ts';

/** Hono's context variables for this app. */
export interface AppEnv {
  Variables: {
    organizer: Organizer | null;
  };
}
