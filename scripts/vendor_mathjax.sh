#!/usr/bin/env bash
# Refresh the MathJax copy under book/_static/mathjax/ from the npm package `mathjax`, so that the
# built site renders its equations with no network. Run by hand when MathJax is to be upgraded; the
# result is committed (the book build itself never downloads anything).
#
# Kept: the combined component tex-mml-chtml.js (TeX input, CommonHTML output, menu), the woff-v2
# fonts it loads on demand, the TeX extensions its autoload/require mechanism fetches (\boldsymbol,
# \cancel, mathtools, ...), and the licence. Everything else in the package (SVG output, speech
# rule engine, other combined components) is left out.
set -euo pipefail
VERSION="${1:-3.2.2}"
cd "$(dirname "$0")/.."
dest=book/_static/mathjax
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "mathjax@$VERSION" >/dev/null && tar xzf mathjax-*.tgz)
src="$tmp/package"
rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts" "$dest/input/tex"
cp "$src/LICENSE" "$dest/LICENSE"
cp "$src/es5/tex-mml-chtml.js" "$dest/"
cp -r "$src/es5/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp -r "$src/es5/input/tex/extensions" "$dest/input/tex/"
cat > "$dest/README.txt" <<TXT
# MathJax $VERSION (vendored)

Files copied from the npm package \`mathjax@$VERSION\` (\`es5/\` folder) by \`scripts/vendor_mathjax.sh\`,
so that the book's equations render offline. Licence: Apache-2.0, see LICENSE. Do not edit by hand.
TXT
du -sh "$dest"
