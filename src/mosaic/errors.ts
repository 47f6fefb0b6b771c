/** Why a mosaic cannot be built, in words an organizer can act on. */
export type MosaicErrorReason =
  | 'bad-target'
  | 'target-too-large'
  | 'no-photos'
  | 'bad-options'
  | 'unsupported-format';

export class MosaicError extends Error {
  constructor(
    readonly reason: MosaicErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'MosaicError';
  }
}
