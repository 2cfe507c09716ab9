// Text in the report's pictures: glyph outlines from a real font (DejaVu Sans, from the npm
// package dejavu-fonts-ttf) through opentype.js, filled with raster.ts's anti-aliased filler.
import * as opentypeNs from 'opentype.js';
import type { Font, Glyph } from 'opentype.js';
import type { RgbaImage } from '../io/image.ts';
import { platform } from '../platform/hooks.ts';
import { fillPath, type Rgb } from './raster.ts';

// opentype.js is CommonJS in Node (its exports on `default`) and an ES module in bundlers.
const opentype = ((opentypeNs as unknown as { default?: typeof opentypeNs }).default ?? opentypeNs) as typeof opentypeNs;

/** Horizontal anchor of drawn text: x is its left edge, centre or right edge. */
export type TextAlign = 'left' | 'center' | 'right';

/** A parsed font that measures and draws single lines of text into RGBA images. */
export class TextFont {
  constructor(readonly font: Font) {}

  /** Distance from the baseline to the top of the tallest glyphs, at `size` px (positive). */
  ascent(size: number): number {
    return (this.font.ascender / this.font.unitsPerEm) * size;
  }

  /** Distance from the baseline to the bottom of descenders, at `size` px (positive). */
  descent(size: number): number {
    return (-this.font.descender / this.font.unitsPerEm) * size;
  }

  /** ascent + descent: the height one line takes. */
  lineHeight(size: number): number {
    return this.ascent(size) + this.descent(size);
  }

  // Glyphs one by one with pair kerning: opentype.js 2.0's whole-string shaping rejects some
  // GSUB lookups in DejaVu, and labels need no shaping beyond kerning.
  private layout(text: string, size: number): { glyph: Glyph; x: number }[] {
    const scale = size / this.font.unitsPerEm;
    const out: { glyph: Glyph; x: number }[] = [];
    let x = 0;
    let prev: Glyph | null = null;
    for (const ch of text) {
      const glyph = this.font.charToGlyph(ch);
      if (prev) x += this.font.getKerningValue(prev, glyph) * scale;
      out.push({ glyph, x });
      x += (glyph.advanceWidth ?? 0) * scale;
      prev = glyph;
    }
    out.push({ glyph: prev ?? this.font.charToGlyph(' '), x });
    return out;
  }

  /**
   * The advance width of `text` at `size` px.
   * @example
   *   font.measure('Sneaker', 14);   // ≈ 52
   */
  measure(text: string, size: number): number {
    return this.layout(text, size).at(-1)!.x;
  }

  /**
   * Draws one line with its baseline at y, anchored at x by `align`; returns its width.
   * @example
   *   font.draw(img, 'epoch 3', 4, 16, 14, [0, 0, 0]);
   */
  draw(img: RgbaImage, text: string, x: number, y: number, size: number, color: Rgb, align: TextAlign = 'left'): number {
    const placed = this.layout(text, size);
    const width = placed.at(-1)!.x;
    const x0 = align === 'left' ? x : align === 'center' ? x - width / 2 : x - width;
    for (const { glyph, x: gx } of placed.slice(0, -1)) {
      const path = glyph.getPath(x0 + gx, y, size);
      if (path.commands.length) fillPath(img, path.commands, color);
    }
    return width;
  }

  /**
   * `text` shortened with '…' so that it fits in maxWidth px at `size`.
   * @example
   *   font.fit('Ankle boot', 40, 14);   // 'Ankle…'
   */
  fit(text: string, maxWidth: number, size: number): string {
    if (this.measure(text, size) <= maxWidth) return text;
    const chars = [...text];
    while (chars.length && this.measure(chars.join('') + '…', size) > maxWidth) chars.pop();
    return chars.join('') + '…';
  }
}

/**
 * Parses a TrueType/OpenType (or WOFF 1) font file.
 * @example
 *   const font = parseFont(await (await fetch('DejaVuSans.ttf')).arrayBuffer());
 */
export function parseFont(bytes: ArrayBuffer | Uint8Array): TextFont {
  const buf = bytes instanceof Uint8Array ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes;
  return new TextFont(opentype.parse(buf as ArrayBuffer));
}

/** The font file the default font comes from, inside the dejavu-fonts-ttf package. */
export { DEFAULT_FONT_MODULE } from './font-module.ts';

let fallback: TextFont | null = null;
let loading: Promise<TextFont> | null = null;

/**
 * Sets the font that defaultFont() returns (a browser page fetches DejaVuSans.ttf and sets it).
 * @example
 *   setDefaultFont(parseFont(bytes));
 */
export function setDefaultFont(font: TextFont): void {
  fallback = font;
  loading = Promise.resolve(font);
}

/**
 * DejaVu Sans, read once from the dejavu-fonts-ttf package in Node (no network), or the font
 * given to setDefaultFont.
 * @example
 *   const font = await defaultFont();
 */
export function defaultFont(): Promise<TextFont> {
  if (fallback) return Promise.resolve(fallback);
  loading ??= (async () => {
    // Node reads the font from the dejavu-fonts-ttf package on disk; a page has no such disk.
    const read = platform().fontBytes;
    if (!read) {
      throw new Error(
        `defaultFont: no default font in ${platform().name === 'web' ? 'a browser' : 'this runtime'}; fetch a .ttf ` +
          `(e.g. DejaVuSans.ttf from the dejavu-fonts-ttf package) and call setDefaultFont(parseFont(bytes)) first`,
      );
    }
    const bytes = await read();
    return (fallback = parseFont(bytes));
  })();
  loading.catch(() => (loading = null)); // setDefaultFont later, or a retry, may still succeed
  return loading;
}
