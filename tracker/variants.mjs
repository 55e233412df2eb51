// The tracker's variants: which extensions exist, how a variant is named and
// how it is compiled. Shared by the build (build.mjs) and the tests.
import * as esbuild from 'esbuild'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'src', 'main.js')

// Canonical order: alphabetical, as Plausible names its files.
export const EXTENSIONS = [
  'compat',
  'exclusions',
  'file-downloads',
  'hash',
  'local',
  'manual',
  'outbound-links',
  'pageview-props',
  'revenue',
  'tagged-events'
]

// Every combination of extensions, each in canonical order: 1,024 variants.
export function allVariants() {
  const variants = []
  for (let mask = 0; mask < 1 << EXTENSIONS.length; mask++) {
    variants.push(EXTENSIONS.filter((_, i) => mask & (1 << i)))
  }
  return variants
}

// "" for the base script, "hash.outbound-links" and so on.
export function variantKey(extensions) {
  return extensions.join('.')
}

export function fileName(prefix, extensions) {
  return [prefix, ...extensions, 'js'].join('.')
}

// EXT_HASH, EXT_OUTBOUND_LINKS, ...: true or false, for esbuild's `define`.
function defines(extensions) {
  const flags = {}
  for (const extension of EXTENSIONS) {
    flags['EXT_' + extension.replace('-', '_').toUpperCase()] = String(extensions.includes(extension))
  }
  return flags
}

export async function compileVariant(extensions) {
  const unknown = extensions.filter((extension) => !EXTENSIONS.includes(extension))
  if (unknown.length) throw new Error(`unknown tracker extension(s): ${unknown.join(', ')}`)
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    // ES5 syntax out: the script must not break a page in an old browser.
    target: 'es5',
    minify: true,
    legalComments: 'none',
    define: defines(extensions),
    logLevel: 'silent'
  })
  const code = result.outputFiles[0].contents
  return { extensions, code, raw: code.length, gzip: gzipSync(code, { level: 9 }).length }
}
