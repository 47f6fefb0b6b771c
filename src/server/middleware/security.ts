import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/** No inline script anywhere: every page's script is a file served by the app. */
export const PAGE_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  styleSrc: ["'self'"],
  fontSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
};

export const securityHeaders = (
  frameAncestors: string[] = ["'none'"],
  extra: Partial<typeof PAGE_CSP> = {},
): MiddlewareHandler =>
  secureHeaders({
    contentSecurityPolicy: { ...PAGE_CSP, ...extra, frameAncestors },
    xFrameOptions: frameAncestors.includes("'none'") ? 'DENY' : false,
    referrerPolicy: 'same-origin',
    crossOriginResourcePolicy: 'same-origin',
  });

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every state change must come from a page of this very server. Browsers send Origin (and
 * Sec-Fetch-Site) on such requests; scripts must send an Origin naming the server. This
 * covers JSON bodies too, which hono/csrf leaves alone.
 */
export const sameOriginOnly: MiddlewareHandler = async (c, next) => {
  if (!UNSAFE_METHODS.has(c.req.method)) return next();
  const site = c.req.header('sec-fetch-site');
  const origin = c.req.header('origin');
  const own = new URL(c.req.url).origin;
  const sameOrigin = origin ? origin === own : site === 'same-origin';
  if (!sameOrigin || (site && site !== 'same-origin')) {
    return c.json(
      { error: "cross-origin request refused: state changes must come from this server's own pages" },
      403,
    );
  }
  return next();
};
