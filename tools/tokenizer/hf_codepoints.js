// Every code point in the context "a{c}a" through HF's BertNormalizer (uncased: lowercase + strip
// accents; cased) and BertPreTokenizer: one line per code point, words as hex code points.
// usage: TOKENIZERS_MODULE=.../tokenizers node hf_codepoints.js OUT.tsv  (see codepoints.sh)
const t = require(process.env.TOKENIZERS_MODULE);
const nl = t.bertNormalizer({cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true});
const nc = t.bertNormalizer({cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false});
const pre = t.bertPreTokenizer();
const fmt = (s) => pre.preTokenizeString(s).map(x => [...x[0]].map(c => c.codePointAt(0).toString(16)).join(' ')).join('|');
const out = [];
for (let cp = 0; cp <= 0x10FFFF; cp++) {
  if (cp >= 0xD800 && cp <= 0xDFFF) continue;
  const s = 'a' + String.fromCodePoint(cp) + 'a';
  out.push(cp.toString(16) + '\t' + fmt(nl.normalizeString(s)) + '\t' + fmt(nc.normalizeString(s)));
}
require('fs').writeFileSync(process.argv[2], out.join('\n') + '\n');
