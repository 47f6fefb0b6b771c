/**
 * The one shape every source (collector, upload form, mailbox, folder import) hands to
 * the ingest service. Collectors translate their network's payload into this and never
 * touch the database themselves.
 */
export const NETWORKS = [
  'x',
  'mastodon',
  'bluesky',
  'instagram',
  'threads',
  'upload',
  'email',
  'import',
] as const;
export type Network = (typeof NETWORKS)[number];

export interface NormalizedAuthor {
  /** Stable id of the account on its network (falls back to the handle where a network has none). */
  remoteId: string;
  handle: string | null;
  name: string;
  profileUrl: string | null;
  avatarUrl: string | null;
}

export interface NormalizedMedia {
  /** Where to download the photo from (collectors). */
  remoteUrl?: string;
  /** The photo's bytes when they are already at hand (upload, e-mail, import). */
  bytes?: Uint8Array;
  /** The SHA-256 (hex) of `bytes`, when the caller hashed them already (the import): not hashed again. */
  sha256?: string;
  alt: string | null;
  /** The network flagged this image as sensitive: it goes to the queue flagged. */
  sensitive?: boolean;
}

export interface NormalizedPost {
  network: Network;
  /** Id of the post on its network; (network, remoteId) is unique in the store. */
  remoteId: string;
  /**
   * Identity across views of the same post (Mastodon's `uri`: the same status seen through
   * two instances). Defaults to `${network}:${remoteId}`.
   */
  canonicalUri?: string;
  url: string | null;
  text: string;
  language: string | null;
  postedAt: Date;
  author: NormalizedAuthor;
  media: NormalizedMedia[];
  sensitive?: boolean;
  /** Which configured source found it (e.g. "x", "mastodon", "import"). */
  sourceId: string;
  region?: string | null;
  consent?: { display: boolean; print: boolean };
}
