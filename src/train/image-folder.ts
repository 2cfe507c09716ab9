// An image-folder data set as Keras's image_dataset_from_directory reads one: one sub-folder per
// class (class names sorted), PNG and JPEG files inside, each decoded and resized to the model's
// input with its preprocessing preset (src/cam/prepare.ts), so training sees what CAMs will.
import { ShapeError } from '../gpu/errors.ts';
import { joinPath, type FileSource, type FolderEntry } from '../io/files.ts';
import { hasImageExtension, IMAGE_EXTENSIONS, readImage } from '../io/image.ts';
import { inputGeometry, prepareImage, type PreprocessName } from '../cam/prepare.ts';
import { resolveFolder, type Dataset } from './data.ts';

export type { FolderEntry };

export interface ImageFolderOptions {
  /** Input [height, width]; or give `inputShape` (a model's, e.g. model.inputShape). */
  size?: [number, number];
  /** 1 or 3 (default 3, or the inputShape's channels). */
  channels?: 1 | 3;
  /** A model's input shape (N,H,W,C) to take the size and channels from. */
  inputShape?: readonly (number | null)[];
  /** The model's preprocessing preset (default 'unit': [0, 1]). */
  preprocess?: PreprocessName;
  crop?: 'none' | 'center';
  /** Lists a folder (names and kinds); default: the source's own list() (the Node file source has one). */
  list?: (dir: string) => Promise<FolderEntry[]>;
  /** Only these classes (sub-folder names), in this order; default every sub-folder, sorted. */
  classes?: string[];
  /** At most this many images per class (quick runs). */
  limitPerClass?: number;
}

/**
 * Loads every PNG/JPEG of `root/<class>/…` (one level) into a data set; names are the files' paths.
 * @example
 *   const ds = await loadImageFolder('data/pets', { inputShape: model.inputShape, preprocess: 'caffe' });
 */
export async function loadImageFolder(where: string | FileSource, o: ImageFolderOptions = {}, root = ''): Promise<Dataset> {
  const source = await resolveFolder(where);
  const list = o.list ?? source.list?.bind(source);
  if (!list) throw new Error('loadImageFolder: this file source cannot list folders; pass `list` (a folder lister) or a folder path in Node');
  const geo = o.inputShape ? inputGeometry(o.inputShape) : null;
  const size = o.size ?? (geo?.height && geo.width ? ([geo.height, geo.width] as [number, number]) : null);
  if (!size) throw new ShapeError("loadImageFolder: give `size: [height, width]` or a model's `inputShape` with a fixed size");
  const channels = o.channels ?? (geo ? (geo.channels as 1 | 3) : 3);
  if (channels !== 1 && channels !== 3) throw new ShapeError(`loadImageFolder: the model input must have 1 or 3 channels, got ${channels}`);
  const top = await list(root);
  const classNames = o.classes ?? top.filter((e) => e.folder && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (!classNames.length) throw new Error(`loadImageFolder: ${source.describe?.(root) ?? (root || String(where))} has no class sub-folders; put each class's images in a folder named after it`);
  const files: { path: string; label: number }[] = [];
  for (const [label, cls] of classNames.entries()) {
    const names = (await list(joinPath(root, cls))).filter((e) => !e.folder && hasImageExtension(e.name)).map((e) => e.name).sort();
    const take = o.limitPerClass === undefined ? names : names.slice(0, o.limitPerClass);
    if (!take.length) throw new Error(`loadImageFolder: class folder '${cls}' holds no images (${IMAGE_EXTENSIONS.join(', ')})`);
    for (const n of take) files.push({ path: joinPath(root, cls, n), label });
  }
  const per = size[0] * size[1] * channels;
  const images = new Float32Array(files.length * per);
  for (const [i, f] of files.entries()) {
    const img = await readImage(source, f.path);
    images.set(prepareImage(img, { size, channels, preprocess: o.preprocess ?? 'unit', crop: o.crop ?? 'none' }), i * per);
  }
  return {
    images,
    labels: Int32Array.from(files, (f) => f.label),
    imageShape: [size[0], size[1], channels],
    classNames,
    names: files.map((f) => f.path),
  };
}
