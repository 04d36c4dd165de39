// Reference side of the tokenizer test: encodes each file listed in LIST (one path per line)
// with the npm gpt-3-encoder package's own JavaScript encoder and writes {path: ids} to OUT.
// Files are decoded as UTF-8 by TextDecoder (WHATWG: each invalid sequence -> U+FFFD), the rule
// Parti documents for invalid UTF-8. Usage: node encode_files.js NPM_DIR LIST OUT
'use strict';
const fs = require('fs');
const path = require('path');
const [npmDir, list, out] = process.argv.slice(2);
const { encode } = require(path.join(npmDir, 'gpt-3-encoder'));
const decoder = new TextDecoder('utf-8');
const result = {};
for (const file of fs.readFileSync(list, 'utf8').split('\n').filter(Boolean)) {
  result[file] = encode(decoder.decode(fs.readFileSync(file)));
}
fs.writeFileSync(out, JSON.stringify(result));
