// The error image decoding throws, in its own module so the PNG checker and the decoders share it.

/** A file that is not an image camlight reads, or a PNG/JPEG that is damaged or over a limit. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}
