// HF tokenizers (BertTokenizerFast's pipeline, built from a vocab file) with truncation windows,
// stride, either side and padding: every window of every line as one JSON object, in the format
// of `ernie tokenize --return-overflowing` (sample = 0-based input line).
// Windows come from the Rust core's Encoding.truncate + Tokenizer.postProcess (specials, overflow
// merging, padding), with truncate_encodings' length rule written out below: tokenizers 0.23.2's
// encode() with truncation set cuts the input to max_length tokens before making windows, so its
// windows stop after 2 * max_length tokens (seen: 20 tokens, max_length 8, stride 0 -> windows of
// tokens 0-5 and 6-7 only), which transformers' question answering over long contexts does not do. With OPTIONS.decode, writes
// instead {"skip": decode(ids, true), "keep": decode(ids, false)} for each line's ids of the
// first window (decoder: WordPiece, prefix ##, cleanup on, as BertTokenizerFast's tokenizer.json).
// usage: TOKENIZERS_MODULE=.../tokenizers node hf_windows.js VOCAB LOWERCASE(1|0) texts.txt out.jsonl OPTIONS_JSON
//   OPTIONS_JSON: {"max_length":64,"stride":16,"strategy":"LongestFirst|OnlyFirst|OnlySecond",
//                  "direction":"Right|Left","padding":"none|longest|max_length","padding_side":"Right|Left",
//                  "pair":false,"decode":false,"decode_ids":false}   pairs: TAB-separated lines
//   decode_ids: the input lines are JSON arrays of ids, decoded as {"skip": .., "keep": ..}
const fs = require('fs');
const { Tokenizer } = require(process.env.TOKENIZERS_MODULE || 'tokenizers');
const [vocabPath, lower, inPath, outPath, optsJson] = process.argv.slice(2);
const o = JSON.parse(optsJson || '{}');
const lines = fs.readFileSync(vocabPath, 'utf8').split('\n'); if (lines[lines.length - 1] === '') lines.pop();
const vocab = {}; lines.forEach((l, i) => { const t = l.includes('\t') ? l.split('\t')[0] : l.replace(/\r$/, ''); vocab[t] = i; });
const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter(t => t in vocab);
const padding = !o.padding || o.padding === 'none' ? null : {
  strategy: o.padding === 'longest' ? 'BatchLongest' : { Fixed: o.max_length }, direction: o.padding_side || 'Right',
  pad_to_multiple_of: null, pad_id: vocab['[PAD]'] || 0, pad_type_id: 0, pad_token: '[PAD]' };
const spec = padding => JSON.stringify({ version: '1.0', truncation: null, padding,
  added_tokens: specials.map(t => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false,
                                     normalized: false, special: true })),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: lower === '1' },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  // BertTokenizerFast's tokenizer.json: the pair's tokens and its [SEP] are type 1.
  post_processor: { type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
           { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
    special_tokens: { '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
                      '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] } } },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } });
// Sequences are encoded unpadded; postProcess (specials, overflow merging) then pads.
const raw = Tokenizer.fromString(spec(null)), tok = Tokenizer.fromString(spec(padding));
const texts = fs.readFileSync(inPath, 'utf8').split('\n'); if (texts[texts.length - 1] === '') texts.pop();
const inputs = o.pair ? texts.map(t => { const i = t.indexOf('\t'); return [t.slice(0, i), t.slice(i + 1)]; }) : texts;
const nulls = a => a.map(x => (x === null || x === undefined ? -1 : x));
// tokenizers' truncate_encodings: how many tokens each sequence keeps (n1, n2).
function keep(n1, n2, pair) {
  const max = o.max_length - (pair ? 3 : 2), total = n1 + n2;
  if (!o.max_length || total <= max) return [n1, n2];
  const strategy = o.strategy || 'LongestFirst';
  if (strategy === 'OnlyFirst') return [n1 - (total - max), n2];
  if (strategy === 'OnlySecond') return [n1, n2 - (total - max)];
  if (!pair) return [max, 0];
  let a = Math.min(n1, n2), b = Math.max(n1, n2);
  b = a > max ? a : Math.max(a, max - a);
  if (a + b > max) { a = Math.floor(max / 2); b = a + (max % 2); }
  return n1 > n2 ? [b, a] : [a, b];
}
const dir = (o.direction || 'Right').toLowerCase();
async function encodeOne(input) {
  const [ta, tb] = o.pair ? input : [input, null];
  const a = await raw.encode(ta, null, { addSpecialTokens: false });
  // The pair encoded as the second of ('', B): its tokens carry type id 1, as in an encoded pair.
  const b = tb === null ? null : await raw.encode('', tb, { addSpecialTokens: false });
  const [k1, k2] = keep(a.getLength(), b ? b.getLength() : 0, !!b);
  if (k1 === a.getLength() && (!b || k2 === b.getLength())) return tok.encode(ta, tb);   // fits: no windows
  if (k1 < a.getLength()) a.truncate(k1, o.stride || 0, dir);
  if (b && k2 < b.getLength()) b.truncate(k2, o.stride || 0, dir);
  return tok.postProcess(a, b, true);
}
(async () => {
  if (o.decode_ids) {   // lines are JSON arrays of ids: {"skip": .., "keep": ..} for each
    const out = [];
    for (const t of texts) {
      const ids = JSON.parse(t);
      out.push(JSON.stringify({ skip: await tok.decode(ids, true), keep: await tok.decode(ids, false) }));
    }
    fs.writeFileSync(outPath, out.join('\n') + '\n');
    return;
  }
  const encs = [];
  for (const x of inputs) encs.push(await encodeOne(x));
  const out = [];
  for (let s = 0; s < encs.length; s++) {
    if (o.decode) {
      const ids = encs[s].getIds();
      out.push(JSON.stringify({ skip: await tok.decode(ids, true), keep: await tok.decode(ids, false) }));
      continue;
    }
    // One level of overflowing, as transformers' BatchEncoding flattens it.
    for (const e of [encs[s], ...encs[s].getOverflowing()])
      out.push(JSON.stringify({ sample: s, input_ids: e.getIds(), token_type_ids: e.getTypeIds(),
        attention_mask: e.getAttentionMask(), special_tokens_mask: e.getSpecialTokensMask(),
        offsets: e.getOffsets(), word_ids: nulls(e.getWordIds()), sequence_ids: nulls(e.getSequenceIds()) }));
  }
  fs.writeFileSync(outPath, out.join('\n') + '\n');
})();
