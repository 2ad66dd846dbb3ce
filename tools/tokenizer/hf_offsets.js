// Like ../shared/tools/tok_ref.js, but writes HF's offsets (characters) per line instead of ids,
// to compare with the "offsets" field of `ernie tokenize --split-special-tokens`.
// usage: TOKENIZERS_MODULE=.../tokenizers node hf_offsets.js VOCAB LOWERCASE(1|0) texts.txt offsets.jsonl
const fs = require('fs');
const { Tokenizer } = require(process.env.TOKENIZERS_MODULE);
const [vocabPath, lower, inPath, outPath] = process.argv.slice(2);
const lines = fs.readFileSync(vocabPath, 'utf8').split('\n'); if (lines[lines.length-1]==='') lines.pop();
const vocab = {}; lines.forEach((l, i) => { const t = l.includes('\t') ? l.split('\t')[0] : l.replace(/\r$/, ''); vocab[t] = i; });
const tok = Tokenizer.fromString(JSON.stringify({version:'1.0',truncation:null,padding:null,added_tokens:[],
  normalizer:{type:'BertNormalizer',clean_text:true,handle_chinese_chars:true,strip_accents:null,lowercase:lower==='1'},
  pre_tokenizer:{type:'BertPreTokenizer'},
  post_processor:{type:'BertProcessing',sep:['[SEP]',vocab['[SEP]']],cls:['[CLS]',vocab['[CLS]']]},decoder:null,
  model:{type:'WordPiece',unk_token:'[UNK]',continuing_subword_prefix:'##',max_input_chars_per_word:100,vocab}}));
const texts = fs.readFileSync(inPath, 'utf8').split('\n'); if (texts[texts.length-1]==='') texts.pop();
(async () => { const encs = await tok.encodeBatch(texts);
  fs.writeFileSync(outPath, encs.map(e => JSON.stringify(e.getOffsets())).join('\n') + '\n'); })();
