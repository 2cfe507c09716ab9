// Where the default font lives: the dejavu-fonts-ttf package (a dependency), as a module path
// that Node resolves on disk and a page can serve (see web/).
export const DEFAULT_FONT_MODULE = 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf';
