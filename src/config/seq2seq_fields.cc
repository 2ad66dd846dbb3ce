// The BART-family key table. Defaults follow transformers' v4 config classes (BartConfig,
// MBartConfig, MarianConfig, PegasusConfig, BlenderbotConfig, BlenderbotSmallConfig); the legacy
// switches carry what each type's v3.x config wrote (v3 configuration_marian/_pegasus/_mbart
// docstrings and DEFAULTS, v4.2 BlenderbotConfig's fixed values).
#include "config/seq2seq_fields.h"

namespace ernie::config_detail {

using json = nlohmann::json;

namespace {

using namespace field_types;

constexpr auto SHAPE = Seq2SeqRole::Shape;
constexpr auto TRAIN = Seq2SeqRole::Training;
constexpr auto TOKEN = Seq2SeqRole::Token;
constexpr auto LABEL = Seq2SeqRole::Labels;
constexpr auto GEN = Seq2SeqRole::Generation;
constexpr auto LEGACY = Seq2SeqRole::Legacy;
constexpr auto INERT = Seq2SeqRole::Inert;

const json NONE = nullptr;

constexpr const char* kGenEn =
    "Text-generation setting read by transformers' generate() for this model (summaries, translations); "
    "it changes no weight and no parameter count.";
constexpr const char* kGenZh = "文本生成参数，供 transformers 的 generate() 使用（摘要、翻译等）；不改变权重，也不影响参数量。";

std::vector<Seq2SeqField> build() {
  std::vector<Seq2SeqField> t = {
      // ---- family and class ----------------------------------------------------------------------
      {"model_type", S, SHAPE, NONE, true,
       "Model family: bart, mbart, marian, pegasus, blenderbot or blenderbot-small. Since transformers "
       "4.2 it alone picks the config and model class, and with it the layout the legacy switches once "
       "described (position table, LayerNorm placement). Read and explained here, not run.",
       "模型家族：bart、mbart、marian、pegasus、blenderbot 或 blenderbot-small。自 transformers 4.2 起，"
       "仅由它决定配置类和模型类，从而决定旧开关曾描述的结构（位置表、LayerNorm 位置）。此处只读取和解释，不运行。"},
      {"architectures", L, SHAPE, NONE, true,
       "Class the weights were saved from (BartForConditionalGeneration, MarianMTModel, BartModel, "
       "BartForSequenceClassification, ...). The counts below are for the type's generation class.",
       "保存权重时所用的模型类名（BartForConditionalGeneration、MarianMTModel、BartModel、"
       "BartForSequenceClassification 等）。下方参数量按该类型的生成模型类计算。"},
      // ---- sizes ---------------------------------------------------------------------------------
      {"vocab_size", I, SHAPE, 50265, true,
       "Number of token ids: model.shared is a vocab_size × d_model table used by the encoder, the "
       "decoder and (tied) the lm_head.",
       "词表大小：model.shared 是 vocab_size × d_model 的表，编码器、解码器以及（绑定时）lm_head 共用。"},
      {"d_model", I, SHAPE, 1024, true,
       "Width of every token vector in encoder and decoder (transformers' hidden_size property returns it).",
       "编码器和解码器中每个 token 向量的宽度（transformers 的 hidden_size 属性即返回它）。"},
      {"encoder_layers", I, SHAPE, 12, true, "Number of encoder layers (self-attention + feed-forward).",
       "编码器层数（每层：自注意力 + 前馈网络）。"},
      {"decoder_layers", I, SHAPE, 12, true,
       "Number of decoder layers (masked self-attention + cross-attention over the encoder + feed-forward).",
       "解码器层数（每层：带掩码的自注意力 + 对编码器输出的交叉注意力 + 前馈网络）。"},
      {"encoder_attention_heads", I, SHAPE, 16, true,
       "Attention heads per encoder layer; d_model must be divisible by it.",
       "编码器每层的注意力头数；d_model 必须能被它整除。"},
      {"decoder_attention_heads", I, SHAPE, 16, true,
       "Attention heads per decoder layer (self- and cross-attention); d_model must be divisible by it.",
       "解码器每层的注意力头数（自注意力与交叉注意力）；d_model 必须能被它整除。"},
      {"encoder_ffn_dim", I, SHAPE, 4096, true,
       "Width of the encoder's feed-forward layer: d_model -> encoder_ffn_dim -> d_model.",
       "编码器前馈层的宽度：d_model -> encoder_ffn_dim -> d_model。"},
      {"decoder_ffn_dim", I, SHAPE, 4096, true,
       "Width of the decoder's feed-forward layer: d_model -> decoder_ffn_dim -> d_model.",
       "解码器前馈层的宽度：d_model -> decoder_ffn_dim -> d_model。"},
      {"max_position_embeddings", I, SHAPE, 1024, true,
       "Positions per side: the longest input of the encoder and of the decoder. BART and mBART learn "
       "a table of max_position_embeddings + 2 rows (ids offset by 2); Marian and Pegasus use a fixed "
       "sinusoidal table; Blenderbot learns exactly max_position_embeddings rows.",
       "每一侧的位置数，即编码器和解码器各自的最长输入。BART、mBART 学习一个 max_position_embeddings + 2 行的表"
       "（位置编号偏移 2）；Marian、Pegasus 使用固定的正弦位置表；Blenderbot 学习恰好 max_position_embeddings 行。"},
      {"activation_function", S, SHAPE, "gelu", true,
       "Activation of the feed-forward layers (gelu, relu, silu/swish, gelu_new, ...; Pegasus uses relu, "
       "Marian swish).",
       "前馈层的激活函数（gelu、relu、silu/swish、gelu_new 等；Pegasus 用 relu，Marian 用 swish）。"},
      {"scale_embedding", B, SHAPE, false, true,
       "Multiply token embeddings by sqrt(d_model) (mBART, Marian, Pegasus and Blenderbot checkpoints set "
       "true; BART false). No parameter changes. One of the mBART-era switches that every v4 class still reads.",
       "将 token 嵌入乘以 sqrt(d_model)（mBART、Marian、Pegasus、Blenderbot 的权重设为 true，BART 为 false）。"
       "不改变参数。它是 mBART 时期引入、v4 各类仍然读取的开关。"},
      {"tie_word_embeddings", B, SHAPE, true, false,
       "lm_head shares its weight with the token embeddings (counted once); false adds a vocab_size × "
       "d_model output matrix.",
       "lm_head 与 token 嵌入共享权重（只计一次）；为 false 时另有一个 vocab_size × d_model 的输出矩阵。"},
      {"share_encoder_decoder_embeddings", B, SHAPE, true, false,
       "Marian: encoder and decoder share one token table; false gives the decoder its own "
       "decoder_vocab_size × d_model table (and lm_head).",
       "Marian：编码器与解码器共用一张 token 表；为 false 时解码器另有 decoder_vocab_size × d_model 的表（及 lm_head）。"},
      {"decoder_vocab_size", OI, SHAPE, NONE, false,
       "Marian: rows of the decoder's token table and of the output logits; unset: vocab_size.",
       "Marian：解码器 token 表与输出 logits 的行数；未设置时等于 vocab_size。"},
      {"num_hidden_layers", I, INERT, 12, false,
       "Copy of encoder_layers that transformers writes (the config sets num_hidden_layers = "
       "encoder_layers); not read back.",
       "transformers 写入的 encoder_layers 副本（配置类令 num_hidden_layers = encoder_layers）；读取时不使用。"},
      {"is_encoder_decoder", B, INERT, true, false,
       "True for every model of the family: an encoder, and a decoder with cross-attention over its output.",
       "该家族所有模型都为 true：一个编码器，加一个对编码器输出做交叉注意力的解码器。"},
      {"is_decoder", B, INERT, false, false,
       "false for the full encoder-decoder; only the decoder-only *ForCausalLM classes set it.",
       "完整的编码器-解码器为 false；只有仅含解码器的 *ForCausalLM 类会设为 true。"},
      {"add_cross_attention", B, INERT, false, false,
       "Generic transformers switch for encoders used as decoders; this family's decoder always has "
       "cross-attention.",
       "transformers 通用开关（把编码器当解码器用时加交叉注意力）；该家族的解码器始终带交叉注意力。"},
      {"use_cache", B, INERT, true, false,
       "generate() keeps the decoder's past keys/values between steps; speed only.",
       "generate() 在各步之间缓存解码器的键/值；只影响速度。"},
      // ---- training ------------------------------------------------------------------------------
      {"dropout", F, TRAIN, 0.1, false, "Dropout after embeddings and every sub-layer, in training.",
       "训练时嵌入层和各子层输出的 dropout 概率。"},
      {"attention_dropout", F, TRAIN, 0.0, false, "Dropout on attention weights, in training.",
       "训练时注意力权重的 dropout 概率。"},
      {"activation_dropout", F, TRAIN, 0.0, false, "Dropout after the feed-forward activation, in training.",
       "训练时前馈层激活之后的 dropout 概率。"},
      {"classifier_dropout", F, TRAIN, 0.0, false,
       "Dropout in the head of …ForSequenceClassification, in training.",
       "训练时 …ForSequenceClassification 分类头中的 dropout 概率。"},
      {"encoder_layerdrop", F, TRAIN, 0.0, false,
       "LayerDrop: probability of skipping a whole encoder layer in training.", "LayerDrop：训练时跳过整个编码器层的概率。"},
      {"decoder_layerdrop", F, TRAIN, 0.0, false,
       "LayerDrop: probability of skipping a whole decoder layer in training.", "LayerDrop：训练时跳过整个解码器层的概率。"},
      {"init_std", F, TRAIN, 0.02, false,
       "Standard deviation of the normal distribution that initializes weights (BART's initializer_range).",
       "初始化权重所用正态分布的标准差（相当于 BERT 的 initializer_range）。"},
      {"gradient_checkpointing", X, TRAIN, false, false,
       "Recompute activations in the backward pass to save memory (transformers 4.x config switch).",
       "反向传播时重算激活以节省显存（transformers 4.x 的配置开关）。"},
      // ---- special tokens ------------------------------------------------------------------------
      {"pad_token_id", OI, TOKEN, 1, false, "Id of the padding token (its embedding row is zero at init).",
       "填充符的 token id（初始化时该行嵌入为零）。"},
      {"bos_token_id", OI, TOKEN, 0, false, "Id of the beginning-of-sequence token.", "序列起始符的 token id。"},
      {"eos_token_id", OI, TOKEN, 2, false, "Id of the end-of-sequence token.", "序列结束符的 token id。"},
      {"decoder_start_token_id", OI, TOKEN, 2, false,
       "First token fed to the decoder (BART: eos, Marian: pad, mBART: the target language code).",
       "输入解码器的第一个 token（BART 为 eos，Marian 为 pad，mBART 为目标语言代码）。"},
      // ---- labels --------------------------------------------------------------------------------
      {"id2label", O, LABEL, NONE, false,
       "Class names of …ForSequenceClassification by index; the generation model ignores them.",
       "…ForSequenceClassification 按下标排列的类别名称；生成模型不使用。"},
      {"label2id", O, LABEL, NONE, false, "Inverse of id2label.", "id2label 的反向映射。"},
      {"num_labels", I, LABEL, 2, false, "Number of classes of …ForSequenceClassification (BartConfig: 3).",
       "…ForSequenceClassification 的类别数（BartConfig 默认为 3）。"},
      // ---- legacy switches (history in doctor.cc) ------------------------------------------------
      {"static_position_embeddings", B, LEGACY, false, false,
       "true: fixed sinusoidal positions, not learned (Marian, Pegasus).",
       "为 true 时使用固定的正弦位置编码，不学习（Marian、Pegasus）。"},
      {"normalize_before", B, LEGACY, false, false,
       "true: LayerNorm before attention and feed-forward (pre-LN: mBART, Pegasus, Blenderbot).",
       "为 true 时 LayerNorm 放在注意力和前馈之前（pre-LN：mBART、Pegasus、Blenderbot）。"},
      {"add_final_layer_norm", B, LEGACY, false, false,
       "true: one more LayerNorm after the last encoder and decoder layer (mBART, Pegasus, Blenderbot).",
       "为 true 时在编码器和解码器最后一层之后再加一个 LayerNorm（mBART、Pegasus、Blenderbot）。"},
      {"normalize_embedding", B, LEGACY, true, false,
       "true: LayerNorm right after the embeddings (layernorm_embedding: BART, mBART, Blenderbot-90M).",
       "为 true 时在嵌入之后立即做 LayerNorm（layernorm_embedding：BART、mBART、Blenderbot-90M）。"},
      {"add_bias_logits", B, LEGACY, false, false,
       "Marian's flag for the final_logits_bias added to the output logits.",
       "Marian 用来标记输出 logits 上的 final_logits_bias 的开关。"},
      {"extra_pos_embeddings", I, LEGACY, 2, false,
       "Extra rows of the learned position table (BART's offset of 2; Blenderbot 0).",
       "可学习位置表的额外行数（BART 的偏移 2；Blenderbot 为 0）。"},
      {"do_blenderbot_90_layernorm", B, LEGACY, false, false,
       "Blenderbot-90M applied layernorm_embedding one step earlier in the decoder.",
       "Blenderbot-90M 在解码器中提前一步做 layernorm_embedding。"},
      {"force_bos_token_to_be_generated", B, LEGACY, false, false,
       "bart-large-cnn: force bos as the first generated token.", "bart-large-cnn：强制生成的第一个 token 为 bos。"},
      {"classif_dropout", F, LEGACY, 0.0, false,
       "transformers 3.x attribute name of classifier_dropout, written into files of that time.",
       "transformers 3.x 中 classifier_dropout 的属性名，当时保存的文件里会出现。"},
      {"output_past", X, LEGACY, NONE, false,
       "transformers 2.x name of the decoder cache switch (now use_cache); read by nothing today.",
       "transformers 2.x 中解码器缓存开关的名字（现为 use_cache）；如今无代码读取。"},
      {"_num_labels", X, LEGACY, NONE, false,
       "Label count as transformers 2.x/3.x wrote it; current versions count id2label.",
       "transformers 2.x/3.x 写入的类别数；当前版本以 id2label 的大小为准。"},
      // ---- generation ----------------------------------------------------------------------------
      {"prefix", X, GEN, NONE, false, "Text that pipelines put before every input (a task prefix).",
       "流水线在每条输入前添加的文本（任务前缀）。"},
      {"task_specific_params", X, GEN, NONE, false,
       "Per-task generation settings (summarization, translation_en_to_de, ...) that pipelines apply.",
       "各任务的生成参数（summarization、translation_en_to_de 等），由流水线套用。"},
  };
  // generate()'s settings: the same key list as the ERNIE table's "generation" group.
  for (const auto& f : field_table())
    if (f.group && std::string(f.group) == "generation" && std::string(f.key) != "decoder_start_token_id")
      t.push_back({f.key, X, GEN, NONE, false, kGenEn, kGenZh});
  return t;
}

struct Override {
  const char* key;
  Seq2SeqType type;
  json value;
};

using T = Seq2SeqType;

// Where a type's class (or, for legacy switches, its v3 config) differs from BartConfig.
const std::vector<Override>& overrides() {
  static const std::vector<Override> o = {
      {"vocab_size", T::Marian, 58101}, {"vocab_size", T::Blenderbot, 8008},
      {"max_position_embeddings", T::Blenderbot, 128}, {"max_position_embeddings", T::BlenderbotSmall, 512},
      {"d_model", T::Blenderbot, 2560}, {"d_model", T::BlenderbotSmall, 512},
      {"encoder_layers", T::Blenderbot, 2}, {"encoder_layers", T::BlenderbotSmall, 8},
      {"decoder_layers", T::Blenderbot, 24}, {"decoder_layers", T::BlenderbotSmall, 8},
      {"num_hidden_layers", T::Blenderbot, 2}, {"num_hidden_layers", T::BlenderbotSmall, 8},
      {"encoder_attention_heads", T::Blenderbot, 32}, {"decoder_attention_heads", T::Blenderbot, 32},
      {"encoder_ffn_dim", T::Blenderbot, 10240}, {"decoder_ffn_dim", T::Blenderbot, 10240},
      {"encoder_ffn_dim", T::BlenderbotSmall, 2048}, {"decoder_ffn_dim", T::BlenderbotSmall, 2048},
      {"pad_token_id", T::Marian, 58100}, {"pad_token_id", T::Pegasus, 0},
      {"pad_token_id", T::Blenderbot, 0}, {"pad_token_id", T::BlenderbotSmall, 0},
      {"bos_token_id", T::Marian, NONE}, {"bos_token_id", T::Pegasus, NONE},
      {"bos_token_id", T::Blenderbot, 1}, {"bos_token_id", T::BlenderbotSmall, 1},
      {"eos_token_id", T::Marian, 0}, {"eos_token_id", T::Pegasus, 1},
      {"decoder_start_token_id", T::MBart, NONE}, {"decoder_start_token_id", T::Marian, 58100},
      {"decoder_start_token_id", T::Pegasus, 0}, {"decoder_start_token_id", T::Blenderbot, 1},
      {"decoder_start_token_id", T::BlenderbotSmall, 1},
      {"num_labels", T::Bart, 3},
      // legacy switches: the values of each type's v3 config
      {"static_position_embeddings", T::Marian, true}, {"static_position_embeddings", T::Pegasus, true},
      {"normalize_before", T::MBart, true}, {"normalize_before", T::Pegasus, true},
      {"normalize_before", T::Blenderbot, true},
      {"add_final_layer_norm", T::MBart, true}, {"add_final_layer_norm", T::Pegasus, true},
      {"add_final_layer_norm", T::Blenderbot, true},
      {"normalize_embedding", T::Marian, false}, {"normalize_embedding", T::Pegasus, false},
      {"normalize_embedding", T::Blenderbot, false},
      {"extra_pos_embeddings", T::Marian, 58101}, {"extra_pos_embeddings", T::Pegasus, 1},
      {"extra_pos_embeddings", T::Blenderbot, 0}, {"extra_pos_embeddings", T::BlenderbotSmall, 0},
      {"do_blenderbot_90_layernorm", T::Blenderbot, true}, {"do_blenderbot_90_layernorm", T::BlenderbotSmall, true},
  };
  return o;
}

}  // namespace

const std::vector<Seq2SeqField>& seq2seq_field_table() {
  static const std::vector<Seq2SeqField> table = build();
  return table;
}

const Seq2SeqField* find_seq2seq_field(const std::string& key) {
  return find_by_key(seq2seq_field_table(), key);
}

json seq2seq_default(const Seq2SeqField& f, Seq2SeqType type) {
  for (const auto& o : overrides())
    if (o.type == type && f.key == std::string(o.key)) return o.value;
  return f.def;
}

Seq2SeqKeyText seq2seq_key_text(const std::string& key) {
  Seq2SeqKeyText t;
  if (const Seq2SeqField* f = find_seq2seq_field(key)) {
    t.known = true;
    t.role = f->role;
    t.en = f->en;
    t.zh = f->zh;
    return t;
  }
  // Provenance and runtime flags mean the same in every transformers config.
  const FieldSpec* e = find_field(key);
  if (e && !e->group && e->eco != Ecosystem::Paddle &&
      (e->role == FieldRole::Inert || e->role == FieldRole::Provenance)) {
    t.known = true;
    t.role = e->role == FieldRole::Provenance ? Seq2SeqRole::Provenance : Seq2SeqRole::Inert;
    t.en = fill_placeholders(e->en, nullptr);
    t.zh = fill_placeholders(e->zh, nullptr);
  }
  return t;
}

const std::vector<std::string>& seq2seq_known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : seq2seq_field_table()) k.push_back(f.key);
    for (const auto& f : field_table())
      if (!find_seq2seq_field(f.key) && seq2seq_key_text(f.key).known) k.push_back(f.key);
    return k;
  }();
  return keys;
}

}  // namespace ernie::config_detail
