import { createHash } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { z } from 'zod';
import { FailureWindow } from '../../auth/auth.ts';
import type { AppContext } from '../../context.ts';
import { log } from '../../log.ts';
import { claimInstagramPost, instagramCode } from '../../moderation/claims.ts';
import type { AppEnv } from '../env.ts';
import { securityHeaders } from '../middleware/security.ts';
import { Page } from '../views/layout.tsx';

type Lang = 'en' | 'ko';

const TEXT = {
  en: {
    heading: 'Add your photo',
    intro: 'Hold your sign, take the photo, send it here. A volunteer checks every photo before it appears.',
    photo: 'Your photo',
    name: 'Your name (as it will be shown)',
    handle: 'Social media handle (optional)',
    region: 'Where are you?',
    regionOther: 'Elsewhere',
    consent:
      'I agree that this photo and my name are shown on the campaign wall, in the photo mosaic and at press events.',
    send: 'Send my photo',
    sending: 'Sending…',
    thanks: 'Thank you!',
    thanksText: 'Your photo is waiting for a volunteer to check it. Share the campaign:',
    share: 'I stand for peace on the Korean Peninsula.',
    again: 'Send another photo',
    other: '한국어',
    claimHeading: 'Already posted it on Instagram?',
    claimIntro:
      'Instagram does not tell us who posted a photo. Paste the link of your post so we can show your name.',
    claimLink: 'Link of my Instagram post',
    claimSend: 'This post is mine',
    claimed: 'Thank you! Your name will be shown with your Instagram photo.',
  },
  ko: {
    heading: '사진 보내기',
    intro: '피켓을 들고 사진을 찍어 여기로 보내주세요. 모든 사진은 자원봉사자가 확인한 뒤 게시됩니다.',
    photo: '사진',
    name: '이름 (표시될 이름)',
    handle: 'SNS 아이디 (선택)',
    region: '어디에 계신가요?',
    regionOther: '기타',
    consent: '이 사진과 제 이름이 캠페인 월, 포토 모자이크, 기자회견에 게시되는 것에 동의합니다.',
    send: '사진 보내기',
    sending: '보내는 중…',
    thanks: '감사합니다!',
    thanksText: '사진은 자원봉사자의 확인을 기다리고 있습니다. 캠페인을 알려주세요:',
    share: '나는 한반도 평화를 지지합니다.',
    again: '다른 사진 보내기',
    other: 'English',
    claimHeading: '인스타그램에 이미 올리셨나요?',
    claimIntro: '인스타그램은 게시자를 알려주지 않습니다. 게시물 링크를 붙여 넣으면 이름을 함께 표시합니다.',
    claimLink: '내 인스타그램 게시물 링크',
    claimSend: '제 게시물입니다',
    claimed: '감사합니다! 인스타그램 사진에 이름이 함께 표시됩니다.',
  },
} as const;

const form = z.object({
  name: z.string().trim().min(1, 'please give a name').max(100, 'the name is at most 100 characters'),
  handle: z
    .string()
    .trim()
    .max(100, 'the handle is at most 100 characters')
    .optional()
    .transform((h) => h || undefined),
  region: z
    .string()
    .regex(/^([A-Z]{2})?$/, 'region must be a two-letter code')
    .optional()
    .transform((r) => r || undefined),
  consent: z.literal('on', { message: 'please tick the consent box: without it the photo cannot be shown' }),
  lang: z.enum(['en', 'ko']).optional(),
  /** Honeypot: people never see it, scripts fill it. */
  website: z.string().max(0).optional(),
});

const MAX_UPLOAD = 20 * 1024 * 1024;

function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function submitRoutes(ctx: AppContext) {
  const app = new Hono<AppEnv>();
  const perIp = new FailureWindow(10, 60 * 60_000);
  const langOf = (c: Context): Lang => (c.req.query('lang') === 'ko' ? 'ko' : 'en');

  /** Who the supporter is, where, the honeypot and consent: the same on both forms. */
  function PersonFields(props: { lang: Lang }) {
    const t = TEXT[props.lang];
    return (
      <>
        <label>
          {t.name}
          <input name="name" required maxlength={100} autocomplete="name" />
        </label>
        <label>
          {t.handle}
          <input name="handle" maxlength={100} placeholder="@you" />
        </label>
        <label>
          {t.region}
          <select name="region">
            {ctx.campaign.goals.map((g) => (
              <option value={g.region}>{g.label[props.lang] ?? g.region}</option>
            ))}
            <option value="">{t.regionOther}</option>
          </select>
        </label>
        <label class="hp" aria-hidden="true">
          Website
          <input name="website" tabindex={-1} autocomplete="off" />
        </label>
        <label class="consent">
          <input type="checkbox" name="consent" required />
          <span>{t.consent}</span>
        </label>
      </>
    );
  }

  function FormPage(props: { lang: Lang; error?: string }) {
    const t = TEXT[props.lang];
    return (
      <Page
        title={`${t.heading} · ${ctx.campaign.title[props.lang] ?? ''}`}
        css="submit.css"
        scripts={['submit.js']}
        lang={props.lang}
      >
        <main class="submit">
          <p class="switch">
            <a href={props.lang === 'ko' ? '/submit' : '/submit?lang=ko'}>{t.other}</a>
          </p>
          <h1>{ctx.campaign.title[props.lang] ?? ctx.campaign.title.en}</h1>
          <h2>{t.heading}</h2>
          <p>{t.intro}</p>
          <ul class="demands">
            {ctx.campaign.demands.map((d) => (
              <li>{(d.phrases[props.lang] ?? d.phrases.en ?? [d.id])[0]}</li>
            ))}
          </ul>
          {props.error ? (
            <p class="error" role="alert" id="error">
              {props.error}
            </p>
          ) : (
            <p class="error" role="alert" id="error" hidden />
          )}
          <form
            id="submit-form"
            method="post"
            action="/submit"
            enctype="multipart/form-data"
            data-sending={t.sending}
          >
            <input type="hidden" name="lang" value={props.lang} />
            <label class="photo">
              {t.photo}
              <input
                type="file"
                name="photo"
                accept="image/jpeg,image/png,image/webp,image/heic,image/heif,image/avif,.heic"
                required
              />
            </label>
            <img id="preview" alt="" hidden />
            <PersonFields lang={props.lang} />
            <button type="submit">{t.send}</button>
          </form>
          <section class="claim">
            <h2>{t.claimHeading}</h2>
            <p>{t.claimIntro}</p>
            <form method="post" action="/submit/claim">
              <input type="hidden" name="lang" value={props.lang} />
              <label>
                {t.claimLink}
                <input name="link" type="url" required placeholder="https://www.instagram.com/p/…" />
              </label>
              <PersonFields lang={props.lang} />
              <button type="submit">{t.claimSend}</button>
            </form>
          </section>
        </main>
      </Page>
    );
  }

  function ThanksPage(props: { lang: Lang; claimed?: boolean }) {
    const t = TEXT[props.lang];
    const share = `${t.share} ${ctx.campaign.hashtags.map((h) => `#${h}`).join(' ')}`;
    return (
      <Page title={t.thanks} css="submit.css" lang={props.lang}>
        <main class="submit">
          <h1>{t.thanks}</h1>
          <p>{props.claimed ? t.claimed : t.thanksText}</p>
          <p class="share">{share}</p>
          <p>
            <a href={props.lang === 'ko' ? '/submit?lang=ko' : '/submit'}>{t.again}</a>
          </p>
        </main>
      </Page>
    );
  }

  const refuse = (c: Context, lang: Lang, status: 400 | 413 | 429, message: string) =>
    c.req.header('accept')?.includes('application/json')
      ? c.json({ error: message }, status)
      : c.html(<FormPage lang={lang} error={message} />, status);

  // blob: for the preview of the photo chosen, drawn before it is sent.
  app.use('/submit', securityHeaders(["'none'"], { imgSrc: ["'self'", 'data:', 'blob:'] }), csrf());
  app.use('/submit/*', securityHeaders());
  app.get('/submit', (c) => c.html(<FormPage lang={langOf(c)} />));
  app.get('/submit/thanks', (c) =>
    c.html(<ThanksPage lang={langOf(c)} claimed={c.req.query('claimed') === '1'} />),
  );

  app.post('/submit/claim', csrf(), async (c) => {
    const ip = clientIp(c);
    const body = await c.req.parseBody().catch(() => null);
    const lang: Lang = body?.lang === 'ko' ? 'ko' : 'en';
    const wait = perIp.blockedFor(ip);
    if (wait > 0)
      return refuse(c, lang, 429, 'Too many submissions from this connection. Please try again later.');
    const parsed = form.extend({ link: z.string().trim().max(500) }).safeParse(body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      if (issue?.path[0] === 'website') return c.redirect('/submit/thanks?claimed=1', 303);
      return refuse(c, lang, 400, `${issue?.path.join('.') ?? 'form'}: ${issue?.message ?? 'invalid'}`);
    }
    const code = instagramCode(parsed.data.link);
    if (!code)
      return refuse(
        c,
        lang,
        400,
        'link: this is not a link to an Instagram post (https://www.instagram.com/p/…)',
      );
    perIp.fail(ip);
    const { applied } = claimInstagramPost(ctx.db, {
      code,
      name: parsed.data.name,
      handle: parsed.data.handle ?? null,
      region: parsed.data.region ?? null,
      consent: true,
    });
    log.info({ code, applied }, 'instagram post claimed');
    return c.redirect(`/submit/thanks?claimed=1${lang === 'ko' ? '&lang=ko' : ''}`, 303);
  });

  app.post(
    '/submit',
    bodyLimit({
      maxSize: MAX_UPLOAD + 64 * 1024,
      onError: (c) =>
        refuse(c, langOf(c), 413, `The photo is too large: the limit is ${MAX_UPLOAD / 1024 / 1024} MB.`),
    }),
    async (c) => {
      const ip = clientIp(c);
      const wait = perIp.blockedFor(ip);
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        return refuse(c, langOf(c), 429, 'Too many photos from this connection. Please try again later.');
      }
      const body = await c.req.parseBody().catch(() => null);
      if (!body) return refuse(c, langOf(c), 400, 'The form could not be read: please send it again.');
      const lang: Lang = body.lang === 'ko' ? 'ko' : 'en';
      const parsed = form.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        if (issue?.path[0] === 'website') {
          // A bot: answer like a success, keep nothing.
          log.info({ ip }, 'upload honeypot triggered');
          return c.req.header('accept')?.includes('application/json')
            ? c.json({ ok: true })
            : c.redirect('/submit/thanks', 303);
        }
        return refuse(c, lang, 400, `${issue?.path.join('.') ?? 'form'}: ${issue?.message ?? 'invalid'}`);
      }
      const photo = body.photo;
      if (!(photo instanceof File) || photo.size === 0)
        return refuse(c, lang, 400, 'photo: please choose a photo');
      const bytes = new Uint8Array(await photo.arrayBuffer());
      perIp.fail(ip);

      const { name, handle, region } = parsed.data;
      const sha = createHash('sha256').update(bytes).digest('hex');
      const result = await ctx.ingest.ingest({
        network: 'upload',
        remoteId: sha,
        url: null,
        text: '',
        language: lang,
        postedAt: new Date(),
        author: {
          remoteId: `upload:${(handle ?? name).toLowerCase()}`,
          handle: handle ?? null,
          name,
          profileUrl: null,
          avatarUrl: null,
        },
        media: [{ bytes, alt: null }],
        sourceId: 'upload',
        region: region ?? null,
        consent: { display: true, print: true },
      });
      if (result.postId === null) {
        const problem = result.problems[0];
        return refuse(c, lang, 400, problem ? `photo: ${problem.message}` : 'photo: not an acceptable photo');
      }
      log.info({ postId: result.postId, created: result.created }, 'photo uploaded');
      const thanks = `/submit/thanks${lang === 'ko' ? '?lang=ko' : ''}`;
      return c.req.header('accept')?.includes('application/json')
        ? c.json({ ok: true, next: thanks })
        : c.redirect(thanks, 303);
    },
  );
  return app;
}
