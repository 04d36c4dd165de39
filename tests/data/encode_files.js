// Reference side of the tokenizer tests: encodes each file listed in LIST (one path per line) with
// an npm package's own JavaScript encoder and writes {path: ids} to OUT. KIND gpt2: gpt-3-encoder's
// encode(text); llama3: llama3-tokenizer-js's encode(text) with its defaults, which put
// <|begin_of_text|> and <|end_of_text|> around the text. Files are decoded as UTF-8 by
// TextDecoder (WHATWG: each invalid sequence -> U+FFFD), the rule Parti documents for invalid
// UTF-8. Usage: node encode_files.js NPM_DIR KIND LIST OUT
'use strict';
const fs = require('fs');
const path = require('path');
const url = require('url');

async function encoder(npmDir, kind) {
  if (kind === 'gpt2') return require(path.join(npmDir, 'gpt-3-encoder')).encode;
  if (kind === 'llama3') {
    const entry = path.join(npmDir, 'llama3-tokenizer-js', 'bundle',
                            'llama3-tokenizer-with-baked-data.js');
    const tok = (await import(url.pathToFileURL(path.resolve(entry)).href)).default;
    return (text) => tok.encode(text);
  }
  throw new Error('unknown tokenizer ' + kind);
}

async function main() {
  const [npmDir, kind, list, out] = process.argv.slice(2);
  const encode = await encoder(npmDir, kind);
  const decoder = new TextDecoder('utf-8');
  const result = {};
  for (const file of fs.readFileSync(list, 'utf8').split('\n').filter(Boolean)) {
    result[file] = encode(decoder.decode(fs.readFileSync(file)));
  }
  fs.writeFileSync(out, JSON.stringify(result));
}

main().catch((e) => { console.error(e); process.exit(1); });
