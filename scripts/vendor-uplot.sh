#!/bin/sh
# vendor-uplot.sh - refresh src/control/ui/vendor/ from the uPlot that
# src/control/ui/package-lock.json pins: run by hand when the pin changes
# (it needs npm and the registry); the build only ever reads vendor/.
set -eu
cd "$(dirname "$0")/../src/control/ui"
npm ci --no-audit --no-fund
cp node_modules/uplot/dist/uPlot.iife.min.js vendor/uPlot.iife.min.js
cp node_modules/uplot/dist/uPlot.min.css vendor/uPlot.min.css
cp node_modules/uplot/LICENSE vendor/uPlot.LICENSE
version=$(sed -n 's/^ *"version": "\(.*\)",*$/\1/p' node_modules/uplot/package.json | head -1)
rm -rf node_modules
echo "vendor-uplot.sh: vendor/ holds uPlot $version"
