#!/usr/bin/env node
'use strict';
// Notebooks are committed without outputs: fail if any notebook has outputs
// or execution counts. CI runs it; `--fix` clears them in place.
//
// Usage: node scripts/check-notebooks-clean.js [--fix] [files...]   (default: notebooks/*.ipynb)
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const fix = args.includes('--fix');
let files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  const dir = path.join(root, 'notebooks');
  files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
        .map((f) => path.join(dir, f))
    : [];
}

let dirty = 0;
for (const file of files) {
  const rel = path.relative(root, path.resolve(file));
  let nb;
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.log(`✗ ${rel}: not a readable notebook (${e.message})`);
    dirty++;
    continue;
  }
  const problems = [];
  (nb.cells || []).forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    if (Array.isArray(cell.outputs) && cell.outputs.length > 0) problems.push(`cell ${i} has ${cell.outputs.length} output(s)`);
    if (cell.execution_count !== null && cell.execution_count !== undefined) problems.push(`cell ${i} has execution_count ${cell.execution_count}`);
    if (fix) {
      cell.outputs = [];
      cell.execution_count = null;
      if (cell.metadata) delete cell.metadata.execution;
    }
  });
  if (problems.length && fix) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(nb, null, 1) + '\n');
    fs.renameSync(tmp, file);
    console.log(`fixed ${rel}: ${problems.length} problem(s) cleared`);
  } else if (problems.length) {
    dirty++;
    console.log(`✗ ${rel}: ${problems.join('; ')}`);
  }
}
if (dirty) {
  console.log(`${dirty} notebook(s) not clean: clear outputs before committing (node scripts/check-notebooks-clean.js --fix)`);
  process.exit(1);
}
console.log(`notebooks clean: ${files.length} checked`);
