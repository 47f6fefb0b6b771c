import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

/** Every page: no inline script or style (the CSP forbids them); assets are files of the app. */
export function Page(props: {
  title: string;
  css: string;
  scripts?: string[];
  lang?: string;
  bodyClass?: string;
  children?: Child;
}) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang={props.lang ?? 'en'}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.title}</title>
          <link rel="stylesheet" href={`/assets/${props.css}`} />
          {(props.scripts ?? []).map((src) => (
            <script src={`/assets/${src}`} defer />
          ))}
        </head>
        <body class={props.bodyClass}>{props.children}</body>
      </html>
    </>
  );
}
