import pino from 'pino';

/**
 * One structured line per event. Secrets never go in: tokens and passwords are redacted
 * wherever they might appear in a logged object.
 */
export const log = pino({
  level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { app: 'standwall' },
  redact: {
    paths: [
      'password',
      '*.password',
      'token',
      '*.token',
      'accessJwt',
      '*.accessJwt',
      'refreshJwt',
      '*.refreshJwt',
      'authorization',
      '*.authorization',
      'headers.authorization',
      'headers.cookie',
    ],
    censor: '[redacted]',
  },
});

export type Logger = typeof log;
