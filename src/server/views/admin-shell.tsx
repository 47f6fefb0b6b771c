import type { Child } from 'hono/jsx';
import type { Organizer } from '../../auth/auth.ts';
import { Page } from './layout.tsx';

/** The frame of every organizer page: navigation, who is logged in, logout. */
export function Shell(props: {
  title: string;
  organizer: Organizer;
  current: string;
  scripts?: string[];
  children?: Child;
  data?: Record<string, string>;
}) {
  const links: Array<[string, string]> = [
    ['/admin', 'Queue'],
    ['/admin/dashboard', 'Dashboard'],
    ['/admin/audit', 'Audit log'],
    ['/admin/mosaics', 'Mosaics'],
  ];
  if (props.organizer.role === 'admin') links.push(['/admin/rules', 'Rules']);
  return (
    <Page title={`${props.title} · standwall`} css="admin.css" scripts={props.scripts ?? ['admin.js']}>
      <header class="top">
        <nav>
          {links.map(([href, label]) => (
            <a href={href} aria-current={props.current === href ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <form method="post" action="/admin/logout" class="logout">
          <span>
            {props.organizer.username} ({props.organizer.role})
          </span>
          <button type="submit">Log out</button>
        </form>
      </header>
      <main
        id="main"
        {...Object.fromEntries(Object.entries(props.data ?? {}).map(([k, v]) => [`data-${k}`, v]))}
      >
        {props.children}
      </main>
    </Page>
  );
}
