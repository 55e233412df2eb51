// Builds every variant of the tracker script and holds each to its size budget.
//
//   node build.mjs             build into src/footfall/web/static/tracker/, print sizes
//   node build.mjs --markdown  the same, with the size table printed as Markdown
//
// One source (src/main.js) and ten compile-time extensions give 1,024 variants,
// each written as script.<extensions>.js and plausible.<extensions>.js (same
// bytes), extensions in canonical order. The build fails when script.js is over
// BASE_BUDGET bytes gzipped, or when any variant is larger, gzipped, than
// Plausible's file for the same extensions (plausible-sizes.json).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXTENSIONS, allVariants, compileVariant, fileName, variantKey } from './variants.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const OUT_DIR = path.resolve(HERE, '..', 'src', 'footfall', 'web', 'static', 'tracker')
const PLAUSIBLE_SIZES = path.join(HERE, 'plausible-sizes.json')

const BASE_BUDGET = 1200 // bytes, gzipped, for script.js
const CONCURRENCY = 64

// Rows of the printed table besides the base script and each single extension.
const REPORTED_COMBINATIONS = [
  ['hash', 'outbound-links'],
  ['file-downloads', 'outbound-links'],
  ['file-downloads', 'outbound-links', 'tagged-events'],
  ['outbound-links', 'pageview-props', 'revenue', 'tagged-events'],
  ['exclusions', 'hash', 'manual'],
  ['file-downloads', 'hash', 'outbound-links', 'pageview-props', 'revenue', 'tagged-events'],
  EXTENSIONS
]

async function compileAll(variants) {
  const built = []
  for (let i = 0; i < variants.length; i += CONCURRENCY) {
    built.push(...(await Promise.all(variants.slice(i, i + CONCURRENCY).map(compileVariant))))
  }
  return built
}

function writeOutput(built) {
  fs.rmSync(OUT_DIR, { recursive: true, force: true })
  fs.mkdirSync(OUT_DIR, { recursive: true })
  for (const variant of built) {
    for (const prefix of ['script', 'plausible']) {
      fs.writeFileSync(path.join(OUT_DIR, fileName(prefix, variant.extensions)), variant.code)
    }
  }
}

function budgetFailures(built, plausible) {
  const failures = []
  for (const variant of built) {
    const key = variantKey(variant.extensions)
    const name = fileName('script', variant.extensions)
    if (key === '' && variant.gzip > BASE_BUDGET) {
      failures.push(`${name}: ${variant.gzip} B gzipped, budget ${BASE_BUDGET} B`)
    }
    const theirs = plausible[key]
    if (!theirs) {
      failures.push(`${name}: no Plausible size recorded for "${key}" in plausible-sizes.json`)
    } else if (variant.gzip > theirs.gzip) {
      failures.push(`${name}: ${variant.gzip} B gzipped, Plausible's is ${theirs.gzip} B`)
    }
  }
  return failures
}

function sizeTable(built, plausible, markdown) {
  const byKey = new Map(built.map((variant) => [variantKey(variant.extensions), variant]))
  const keys = ['', ...EXTENSIONS, ...REPORTED_COMBINATIONS.map(variantKey)]
  const header = ['variant', 'raw B', 'gzip B', 'Plausible raw B', 'Plausible gzip B', 'gzip difference']
  const rows = keys.map((key) => {
    const ours = byKey.get(key)
    const theirs = plausible[key]
    const difference = ours.gzip - theirs.gzip
    return [
      fileName('script', ours.extensions),
      String(ours.raw),
      String(ours.gzip),
      String(theirs.raw),
      String(theirs.gzip),
      `${difference > 0 ? '+' : ''}${difference} (${((difference / theirs.gzip) * 100).toFixed(0)}%)`
    ]
  })
  if (markdown) {
    return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n')
  }
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column].length)))
  return [header, ...rows]
    .map((row) => row.map((cell, column) => (column ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  '))
    .join('\n')
}

function tightestMargin(built, plausible) {
  let tightest
  for (const variant of built) {
    const margin = plausible[variantKey(variant.extensions)].gzip - variant.gzip
    if (!tightest || margin < tightest.margin) tightest = { variant, margin }
  }
  return tightest
}

async function main() {
  const markdown = process.argv.includes('--markdown')
  const started = performance.now()
  const plausible = JSON.parse(fs.readFileSync(PLAUSIBLE_SIZES, 'utf8')).variants
  const built = await compileAll(allVariants())
  writeOutput(built)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)

  console.log(`Built ${built.length} variants (${built.length * 2} files) into ${path.relative(process.cwd(), OUT_DIR) || '.'} in ${seconds} s.\n`)
  console.log(sizeTable(built, plausible, markdown))
  const failures = budgetFailures(built, plausible)
  if (failures.length === 0) {
    const { variant, margin } = tightestMargin(built, plausible)
    console.log(
      `\nAll ${built.length} variants within budget (script.js <= ${BASE_BUDGET} B gzipped, each <= Plausible's);` +
        ` tightest: ${fileName('script', variant.extensions)}, ${margin} B under.`
    )
    return
  }
  console.error(`\nSize budget exceeded by ${failures.length} variant(s):`)
  for (const failure of failures.slice(0, 30)) console.error('  ' + failure)
  if (failures.length > 30) console.error(`  ... and ${failures.length - 30} more`)
  process.exitCode = 1
}

await main()
