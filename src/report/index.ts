// camlight/report: the pictures and the page of a training run: text drawn with a real font, APNG animations,
// frames with CAM overlays and top-3 bars, SVG curves, and the self-contained report.html.
export { TextFont, parseFont, defaultFont, setDefaultFont, DEFAULT_FONT_MODULE, type TextAlign } from './text.ts';
export { canvas, fillRect, fillPath, paste, resizeImage, type Rgb, type PathCommand } from './raster.ts';
export { drawBars, barRowHeight, barLayout, svgLineChart, escapeXml, BAR_COLOR, TRUE_BAR_COLOR, type BarItem, type BarStyle, type Series, type LineChartOptions } from './chart.ts';
export { renderFrame, frameLayout, defaultScale, type FrameContent, type FrameOptions, type FrameLayout } from './frame.ts';
export { renderReport, toBase64, pngDataUri, type ReportInput, type ReportAnimation, type CurvePoint } from './html.ts';
export { animations, animationFrames, sideBySide, encodeApng, type AnimationOptions } from './animation.ts';
export type { TriageView, HistoryView } from './views.ts';
