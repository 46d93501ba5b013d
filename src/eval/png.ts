/** Adapter: SVG → PNG with resvg (a prebuilt native binary shipped in the npm package; no system libraries). */
import { Resvg } from '@resvg/resvg-js'

export function svgToPng(svg: string): Buffer {
  // System fonts give the axis text; without any installed fonts the chart still renders, minus the text.
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'sans-serif' },
    background: 'white',
  })
  return resvg.render().asPng()
}
