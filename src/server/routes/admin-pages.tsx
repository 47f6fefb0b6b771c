import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Organizer } from '../../auth/auth.ts';
import { instagramCoverageGap, instagramHashtagBudget } from '../../collectors/instagram.ts';
import { threadsQueryBudget } from '../../collectors/threads.ts';
import type { AppContext } from '../../context.ts';
import { authors } from '../../db/schema.ts';
import type { Moderation } from '../../moderation/moderation.ts';
import { listBlockedWords } from '../../moderation/rules.ts';
import { goalProgress, sourceHealth, statusCounts, supporterCounts } from '../../moderation/supporters.ts';
import { listPosts } from '../../posts/post-queries.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../middleware/session.ts';
import { Shell } from '../views/admin-shell.tsx';
import { Page } from '../views/layout.tsx';

const NETWORKS = ['x', 'mastodon', 'bluesky', 'upload', 'email', 'import', 'instagram', 'threads'];

function AuthorList(props: {
  title: string;
  authors: Array<typeof authors.$inferSelect>;
  flag: string;
  label: string;
}) {
  return (
    <>
      <h2>{props.title}</h2>
      <ul>
        {props.authors.map((a) => (
          <li>
            <a href={`/admin/authors/${a.id}`}>{a.name}</a> {a.handle ?? ''} ({a.network}){' '}
            <button type="button" data-api={`/api/admin/authors/${a.id}/${props.flag}`}>
              {props.label}
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

export function adminPageRoutes(ctx: AppContext, moderation: Moderation, sourceIds: () => string[]) {
  const app = new Hono<AppEnv>();
  app.use('*', requireRole('admin', 'moderator'));
  const demandLabels = Object.fromEntries(
    ctx.campaign.demands.map((d) => [d.id, d.phrases.en?.[0] ?? Object.values(d.phrases)[0]?.[0] ?? d.id]),
  );

  app.get('/', (c) => {
    const organizer = c.get('organizer') as Organizer;
    return c.html(
      <Shell
        title="Queue"
        organizer={organizer}
        current="/admin"
        data={{ demands: JSON.stringify(demandLabels), role: organizer.role }}
      >
        <form id="filters" class="filters">
          <label>
            Status
            <select name="status">
              <option value="pending">pending</option>
              <option value="approved">approved</option>
              <option value="rejected">rejected</option>
              <option value="removed">removed</option>
            </select>
          </label>
          <label>
            Network
            <select name="network">
              <option value="">all</option>
              {NETWORKS.map((n) => (
                <option value={n}>{n}</option>
              ))}
            </select>
          </label>
          <label>
            Demand
            <select name="demand">
              <option value="">all</option>
              {ctx.campaign.demands.map((d) => (
                <option value={d.id}>{demandLabels[d.id]}</option>
              ))}
            </select>
          </label>
          <label>
            Region
            <select name="region">
              <option value="">all</option>
              {ctx.campaign.goals.map((g) => (
                <option value={g.region}>{g.region}</option>
              ))}
            </select>
          </label>
          <label class="grow">
            Text
            <input name="q" type="search" placeholder="text, name or handle" />
          </label>
        </form>
        <div class="bulk" id="bulk" hidden>
          <span id="bulk-count">0 selected</span>
          <button type="button" data-bulk="approve">
            Approve selected
          </button>
          <button type="button" data-bulk="reject">
            Reject selected
          </button>
          <button type="button" data-bulk="clear">
            Clear selection
          </button>
        </div>
        <p id="message" class="message" role="status" aria-live="polite" />
        <ol id="queue" class="queue" aria-label="Posts" />
        <p id="empty" class="empty" hidden>
          Nothing here. New posts appear by themselves.
        </p>
        <button type="button" id="more" class="more" hidden>
          Load more
        </button>
        <aside class="keys" aria-label="Keyboard shortcuts">
          <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>a</kbd> approve · <kbd>r</kbd> reject · <kbd>f</kbd> feature ·{' '}
          <kbd>p</kbd> back to pending · <kbd>x</kbd> select · <kbd>u</kbd> undo
        </aside>
        <template id="card">
          <li class="card" tabindex={-1}>
            <label class="pick">
              <input type="checkbox" aria-label="select" />
            </label>
            <a class="photo" href="/admin" target="_blank" rel="noopener">
              <img alt="" loading="lazy" />
            </a>
            <div class="body">
              <div class="meta">
                <span class="network" />
                <a class="author" href="/admin">
                  author
                </a>
                <span class="handle" />
                <time />
                <span class="status" />
              </div>
              <p class="text" />
              <div class="chips" />
              <p class="hints" />
              <div class="actions">
                <button type="button" data-act="approve">
                  Approve
                </button>
                <button type="button" data-act="reject">
                  Reject
                </button>
                <button type="button" data-act="feature">
                  Feature
                </button>
                <button type="button" data-act="pending">
                  Pending
                </button>
                <button type="button" data-act="trust" class="quiet">
                  Trust author
                </button>
                <button type="button" data-act="block" class="quiet">
                  Block author
                </button>
                <select class="region quiet" aria-label="region">
                  <option value="">region?</option>
                  {ctx.campaign.goals.map((g) => (
                    <option value={g.region}>{g.region}</option>
                  ))}
                </select>
                <a class="source quiet" href="/admin" target="_blank" rel="noopener noreferrer">
                  source
                </a>
              </div>
            </div>
          </li>
        </template>
      </Shell>,
    );
  });

  app.get('/authors/:id{[0-9]+}', (c) => {
    const organizer = c.get('organizer') as Organizer;
    const author = ctx.db
      .select()
      .from(authors)
      .where(eq(authors.id, Number(c.req.param('id'))))
      .get();
    if (!author)
      return c.html(
        <Page title="Not found" css="admin.css">
          No such author.
        </Page>,
        404,
      );
    const posts = listPosts(ctx.db, { authorId: author.id, limit: 200 });
    return c.html(
      <Shell title={author.name} organizer={organizer} current="">
        <h1>{author.name}</h1>
        <p>
          {author.network} · {author.handle ?? 'no handle'}{' '}
          {author.profileUrl ? (
            <a href={author.profileUrl} rel="noopener noreferrer">
              profile
            </a>
          ) : null}
        </p>
        <p>
          {author.trusted ? 'Trusted: new posts are approved automatically. ' : ''}
          {author.blocked ? 'Blocked: new posts are rejected automatically. ' : ''}
        </p>
        <p class="actions">
          <button
            type="button"
            data-api={`/api/admin/authors/${author.id}/${author.trusted ? 'untrust' : 'trust'}`}
          >
            {author.trusted ? 'Stop trusting' : 'Trust'}
          </button>
          <button
            type="button"
            data-api={`/api/admin/authors/${author.id}/${author.blocked ? 'unblock' : 'block'}`}
          >
            {author.blocked ? 'Unblock' : 'Block'}
          </button>
        </p>
        <form class="inline" data-api={`/api/admin/authors/${author.id}/name`}>
          <input
            name="name"
            required
            maxlength={100}
            value={author.name}
            aria-label="name shown on the wall"
          />
          <button type="submit">Rename</button>
        </form>
        <h2>{posts.length} posts</h2>
        <ul class="grid">
          {posts.map((p) => (
            <li>
              {p.media[0] ? (
                <img src={p.media[0].thumbUrl} alt={p.media[0].alt ?? ''} loading="lazy" />
              ) : null}
              <p>
                <strong>{p.status}</strong> · {p.postedAt.slice(0, 16).replace('T', ' ')}
              </p>
              <p class="text">{p.text}</p>
            </li>
          ))}
        </ul>
      </Shell>,
    );
  });

  app.get('/audit', (c) => {
    const organizer = c.get('organizer') as Organizer;
    const events = moderation.recentEvents(500);
    return c.html(
      <Shell title="Audit log" organizer={organizer} current="/admin/audit">
        <h1>Audit log</h1>
        <table class="table">
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Post</th>
              <th>Action</th>
              <th>From → to</th>
              <th>Who</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr>
                <td>{e.createdAt.slice(0, 19).replace('T', ' ')}</td>
                <td>#{e.postId}</td>
                <td>{e.action}</td>
                <td>
                  {e.fromStatus ?? '—'} → {e.toStatus ?? '—'}
                </td>
                <td>{e.organizer ?? (e.rule ? `rule: ${e.rule}` : 'system')}</td>
                <td>{e.note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Shell>,
    );
  });

  app.get('/dashboard', (c) => {
    const organizer = c.get('organizer') as Organizer;
    const goals = goalProgress(ctx.db, ctx.campaign);
    const { total } = supporterCounts(ctx.db);
    const counts = statusCounts(ctx.db);
    const health = sourceHealth(ctx.db, sourceIds());
    const igGap = instagramCoverageGap(ctx.db, Date.now());
    const igBudget = instagramHashtagBudget(ctx.db, Date.now());
    const threadsBudget = threadsQueryBudget(ctx.db, Date.now());
    return c.html(
      <Shell title="Dashboard" organizer={organizer} current="/admin/dashboard">
        <h1>{ctx.campaign.title.en}</h1>
        <section class="goals" id="goals">
          {goals.map((g) => (
            <div class="goal">
              <p class="count">
                {g.supporters.toLocaleString('en-US')} / {g.target.toLocaleString('en-US')}
              </p>
              <p>{g.label}</p>
              <progress max={g.target} value={Math.min(g.supporters, g.target)} />
            </div>
          ))}
          <div class="goal">
            <p class="count">{total.toLocaleString('en-US')}</p>
            <p>supporters in all</p>
          </div>
        </section>
        <h2>Posts</h2>
        <p>
          {['pending', 'approved', 'rejected', 'removed'].map((s) => (
            <span class="pill">
              {s}: {counts[s] ?? 0}
            </span>
          ))}
        </p>
        {igGap.exceeds24h ? (
          <p class="error" role="alert">
            Instagram: no successful pass since {igGap.lastSuccessfulPassAt?.slice(0, 16).replace('T', ' ')}{' '}
            UTC. Instagram only shows the last 24 hours of a hashtag, so posts from the gap may be missed.
          </p>
        ) : null}
        <h2>Sources</h2>
        <p>
          <span class="pill">
            Instagram hashtags this week: {igBudget.used} / {igBudget.limit}
          </span>
          <span class="pill">
            Threads queries in 24 h: {threadsBudget.used} / {threadsBudget.limit}
          </span>
        </p>
        <table class="table">
          <thead>
            <tr>
              <th>Source</th>
              <th>Last run (UTC)</th>
              <th>Status</th>
              <th>New (last run)</th>
              <th>New (24 h)</th>
              <th>Errors (24 h)</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {health.map((h) => (
              <tr class={h.lastStatus && h.lastStatus !== 'ok' ? 'bad' : ''}>
                <td>{h.sourceId}</td>
                <td>{h.lastRunAt ? h.lastRunAt.slice(0, 19).replace('T', ' ') : 'never'}</td>
                <td>{h.lastStatus ?? '—'}</td>
                <td>{h.newPostsLastRun}</td>
                <td>{h.newPosts24h}</td>
                <td>{h.errors24h}</td>
                <td>{h.lastMessage ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Shell>,
    );
  });

  app.get('/rules', requireRole('admin'), (c) => {
    const organizer = c.get('organizer') as Organizer;
    const words = listBlockedWords(ctx.db);
    const trusted = ctx.db.select().from(authors).where(eq(authors.trusted, true)).all();
    const blocked = ctx.db.select().from(authors).where(eq(authors.blocked, true)).all();
    return c.html(
      <Shell title="Rules" organizer={organizer} current="/admin/rules">
        <h1>Rules</h1>
        <p>Applied when a post arrives; each automatic decision names its rule in the audit log.</p>
        <h2>Blocked words</h2>
        <form id="add-word" class="inline" data-api="/api/admin/rules">
          <input name="value" required minlength={2} maxlength={100} placeholder="word or phrase" />
          <button type="submit">Block</button>
        </form>
        <ul>
          {words.map((w) => (
            <li>
              {w.value}{' '}
              <button type="button" data-api={`/api/admin/rules/${w.id}`} data-method="DELETE">
                remove
              </button>
            </li>
          ))}
        </ul>
        <AuthorList
          title="Trusted authors (auto-approved)"
          authors={trusted}
          flag="untrust"
          label="stop trusting"
        />
        <AuthorList
          title="Blocked authors (auto-rejected)"
          authors={blocked}
          flag="unblock"
          label="unblock"
        />
      </Shell>,
    );
  });

  return app;
}
