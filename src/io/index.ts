// camlight's file access for model loading: the FileSource interface, memory and fetch sources.
// The disk sources are platform entries: nodeFiles from 'camlight/node', denoFiles from 'camlight/deno'.
export { FileNotFoundError, memoryFiles, subFolder, joinPath, dirname, basename, describePath, type FileSource } from './files.ts';
export { fetchFiles } from './fetch-files.ts';
export { decodeImage, decodePng, decodeJpeg, encodePng, readImage, sniffImageFormat, IMAGE_EXTENSIONS, hasImageExtension, ImageDecodeError, type RgbaImage, type DecodedImage, type ImageFormat } from './image.ts';
export { encodeApng } from './png-encode.ts';
