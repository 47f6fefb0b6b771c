import { readFileSync } from 'node:fs';
import cron from 'node-cron';
import { z } from 'zod';

const cronExpression = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields, e.g. "*/2 * * * *"')
  .refine((expression) => cron.validate(expression), 'is not a valid cron expression');

const httpUrl = z
  .string()
  .url('must be an absolute URL')
  .refine((u) => /^https?:\/\//i.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

const scheduleFields = {
  enabled: z.boolean().default(true),
  /** node-cron expression: how often this source runs. */
  schedule: cronExpression.default('*/2 * * * *'),
  /** Up to this many seconds of random delay before each scheduled run, so sources do not fire together. */
  jitterSeconds: z.number().int().min(0).max(3600).default(20),
  /** A run taking longer than this is abandoned (its cursor not advanced). */
  timeoutSeconds: z.number().int().min(5).max(7200).default(600),
};

const demandSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be a short lowercase id like "end-sanctions"'),
  /** Phrasings per language (BCP 47 code → phrases). Any of them in a post's text matches. */
  phrases: z
    .record(z.string().min(2).max(10), z.array(z.string().trim().min(2).max(200)).min(1))
    .refine((r) => Object.keys(r).length > 0, 'needs at least one language'),
});

const goalSchema = z.object({
  region: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code like "US"'),
  label: z.record(z.string(), z.string().min(1)),
  target: z.number().int().positive(),
});

const regionRuleSchema = z.object({
  region: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code like "KR"'),
  /** A post in one of these languages counts for the region (unless the supporter said otherwise). */
  languages: z.array(z.string().min(2)).default([]),
  hashtags: z.array(z.string().min(1)).default([]),
});

export const campaignSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a lowercase slug'),
  title: z.record(z.string(), z.string().min(1)),
  languages: z.array(z.string().min(2)).min(1),
  /** Without the leading "#". Matching ignores case. */
  hashtags: z
    .array(
      z
        .string()
        .trim()
        .transform((h) => h.replace(/^#/, ''))
        .pipe(z.string().regex(/^[\p{L}\p{N}_]{1,100}$/u, 'must be letters, digits or _')),
    )
    .min(1),
  demands: z.array(demandSchema).min(1),
  goals: z.array(goalSchema).default([]),
  regionRules: z.array(regionRuleSchema).default([]),
  deadline: z.iso.datetime({ offset: true }).nullable().default(null),
  /** Organizer-held consent applies to e-mailed photos when true (the campaign asked for it in its call). */
  sources: z.object({
    x: z.object({ ...scheduleFields, baseUrl: httpUrl.default('https://api.x.com') }).prefault({}),
    mastodon: z
      .object({
        ...scheduleFields,
        instances: z.array(httpUrl).min(1).default(['https://mastodon.social']),
        /** Access tokens per instance base URL, for instances that disabled public preview. */
        tokens: z.record(z.string(), z.string().min(1)).default({}),
      })
      .prefault({}),
    bluesky: z.object({ ...scheduleFields, serviceUrl: httpUrl.default('https://bsky.social') }).prefault({}),
    instagram: z
      .object({
        ...scheduleFields,
        schedule: cronExpression.default('*/20 * * * *'),
        baseUrl: httpUrl.default('https://graph.facebook.com/v23.0'),
      })
      .prefault({}),
    threads: z
      .object({
        ...scheduleFields,
        // 18 queries every 15 minutes stay under Meta's 2,200 a day.
        schedule: cronExpression.default('*/15 * * * *'),
        baseUrl: httpUrl.default('https://graph.threads.net/v1.0'),
      })
      .prefault({}),
    imap: z
      .object({
        ...scheduleFields,
        folder: z.string().min(1).default('INBOX'),
        processedFolder: z.string().min(1).nullable().default(null),
        consent: z.enum(['none', 'display', 'print']).default('none'),
      })
      .prefault({}),
    recheck: z.object({ ...scheduleFields, schedule: cronExpression.default('17 */3 * * *') }).prefault({}),
  }),
  wall: z
    .object({
      layout: z.enum(['mixed', 'grid', 'spotlight']).default('mixed'),
      /** Seconds each photo holds the spotlight when nothing new arrives. */
      paceSeconds: z.number().min(3).max(120).default(8),
      /** Networks shown on the wall; empty means all. */
      networks: z.array(z.string().regex(/^[a-z]{1,20}$/)).default([]),
      language: z.string().min(2).default('en'),
      /** Sites allowed to show the wall in an iframe (/wall/embed), as origins. */
      embedAncestors: z.array(httpUrl).default([]),
      /** The address people reach this server at (for QR codes); default: the request's own origin. */
      publicUrl: httpUrl.nullable().default(null),
    })
    .prefault({}),
  media: z
    .object({
      maxBytes: z
        .number()
        .int()
        .positive()
        .default(20 * 1024 * 1024),
      maxPixels: z.number().int().positive().default(50_000_000),
    })
    .prefault({}),
});

export type Campaign = z.infer<typeof campaignSchema>;
export type CampaignInput = z.input<typeof campaignSchema>;
export type Demand = Campaign['demands'][number];

export const defaultCampaign: CampaignInput = {
  id: 'peace-korean-peninsula',
  title: {
    en: 'I Stand for Peace on the Korean Peninsula',
    ko: '나는 한반도 평화를 지지합니다',
  },
  languages: ['en', 'ko'],
  hashtags: ['IStandForPeace', 'PeaceOnKoreanPeninsula', 'EndTheKoreanWar', '한반도평화'],
  demands: [
    {
      id: 'end-sanctions',
      phrases: {
        en: ['End Sanctions Against North Korea'],
        ko: ['대북제재 해제', '대북 제재를 해제하라'],
      },
    },
    {
      id: 'stop-drills',
      phrases: {
        en: [
          'Stop the U.S.-South Korea Joint Military Exercises',
          'Stop the US-South Korea Joint Military Exercises',
        ],
        ko: ['한미연합군사훈련 중단', '한미연합훈련 중단'],
      },
    },
    {
      id: 'end-war',
      phrases: {
        en: ['End the Korean War'],
        ko: ['한국전쟁 끝내자', '한국전쟁을 끝내자', '종전선언'],
      },
    },
    {
      id: 'peace-now',
      phrases: {
        en: ['Peace on the Korean Peninsula Now'],
        ko: ['지금 한반도에 평화를', '한반도에 평화를'],
      },
    },
  ],
  goals: [
    { region: 'US', label: { en: 'in the US', ko: '미국' }, target: 200 },
    { region: 'KR', label: { en: 'in Korea', ko: '한국' }, target: 1000 },
  ],
  regionRules: [{ region: 'KR', languages: ['ko'], hashtags: ['한반도평화'] }],
  deadline: '2027-07-27T00:00:00+09:00',
  sources: {},
};

export class ConfigError extends Error {}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field-by-field override: objects merge, arrays and scalars replace. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = key in base ? mergeConfig(base[key], value) : value;
  }
  return out;
}

function describeIssues(error: z.ZodError, where: string): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `  - ${path}: ${issue.message}`;
  });
  return `Invalid campaign configuration in ${where}:\n${lines.join('\n')}`;
}

export function parseCampaign(input: unknown, where = 'the campaign config'): Campaign {
  const merged = mergeConfig(defaultCampaign, input ?? {});
  const result = campaignSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(describeIssues(result.error, where));
  const ids = new Set<string>();
  for (const demand of result.data.demands) {
    if (ids.has(demand.id)) {
      throw new ConfigError(
        `Invalid campaign configuration in ${where}:\n  - demands: id "${demand.id}" is used twice`,
      );
    }
    ids.add(demand.id);
  }
  return result.data;
}

/** The built-in campaign overridden by the JSON file at `path`, if given. */
export function loadCampaign(path: string | undefined): Campaign {
  if (!path) return parseCampaign({}, 'the built-in campaign');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read CAMPAIGN_CONFIG ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`CAMPAIGN_CONFIG ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(json)) {
    throw new ConfigError(`CAMPAIGN_CONFIG ${path} must hold a JSON object`);
  }
  return parseCampaign(json, path);
}
