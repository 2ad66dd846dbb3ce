// The config key table. Defaults follow the original classes:
//   transformers BertConfig / ErnieConfig / RobertaConfig (+ PretrainedConfig), and
//   PaddleNLP ErnieConfig / BertConfig / RobertaConfig (+ its PretrainedConfig).
// Family-specific defaults (RoBERTa's vocabulary and special ids, use_task_id outside ERNIE) are
// the overrides below the table.
#include "config/fields.h"

#include <cstdio>
#include <map>

namespace ernie::config_detail {

using json = nlohmann::json;

namespace {

using namespace field_types;

constexpr auto HON = FieldRole::Honoured;
constexpr auto ALI = FieldRole::Alias;
constexpr auto INE = FieldRole::Inert;
constexpr auto PRO = FieldRole::Provenance;

constexpr auto BOTH = Ecosystem::Both;
constexpr auto HF = Ecosystem::HF;
constexpr auto PD = Ecosystem::Paddle;

const json NONE = nullptr;
const Member CUSTOM = std::monostate{};

// Shared texts of grouped inert keys.
constexpr const char* kGenEn =
    "Text-generation setting read by transformers' generate() (defaults as there); an encoder never "
    "generates, so inert.";
constexpr const char* kGenZh = "文本生成参数，仅供 transformers 的 generate() 使用（默认值同 transformers）；编码器不生成文本，因此不起作用。";
constexpr const char* kIeEn = "PaddleNLP information-extraction (UIE) head setting; inert for the heads supported here.";
constexpr const char* kIeZh = "PaddleNLP 信息抽取（UIE）任务头的设置；对此处支持的任务头不起作用。";
constexpr const char* kParEn = "PaddleNLP distributed-training setting; inert (one process holds the whole model).";
constexpr const char* kParZh = "PaddleNLP 分布式训练设置；不起作用（整个模型在一个进程内）。";

std::vector<FieldSpec> build_table() {
  std::vector<FieldSpec> t = {
      // ---- model family and head -------------------------------------------------------------
      {"model_type", S, HON, BOTH, "bert", "ernie", CUSTOM, true,
       "Model family: bert, ernie or roberta. It picks the weight-name prefix, the embedding layout "
       "and the family's defaults. Missing: taken from architectures[0], else ernie for PaddleNLP "
       "files, else ernie when ERNIE-only keys (use_task_id, task_type_vocab_size) appear, else bert.",
       "模型家族：bert、ernie 或 roberta，决定权重名前缀、嵌入层结构和该家族的默认值。缺省时依次按 "
       "architectures[0] 推断；PaddleNLP 文件视为 ernie；出现 ERNIE 特有键（use_task_id、"
       "task_type_vocab_size）时视为 ernie；否则为 bert。"},
      {"architectures", L, HON, BOTH, NONE, NONE, CUSTOM, true,
       "Class the weights were saved from; its suffix picks the task head (...Model, "
       "...ForSequenceClassification, ...ForTokenClassification, ...ForQuestionAnswering, ...ForMaskedLM, "
       "...ForMultipleChoice, ...ForPreTraining). Missing: sequence classification when the file gives "
       "labels, else the bare encoder.",
       "保存权重时所用的模型类名；其后缀决定任务头（...Model、...ForSequenceClassification、"
       "...ForTokenClassification、...ForQuestionAnswering、...ForMaskedLM、...ForMultipleChoice、"
       "...ForPreTraining）。缺省时：文件给出了标签则为序列分类，否则为不带任务头的编码器。"},
      // ---- sizes -------------------------------------------------------------------------------
      {"vocab_size", I, HON, BOTH, 30522, 30522, &Config::vocab_size, true,
       "Number of token ids; word_embeddings is a {vocab_size} × {hidden_size} table, initialized "
       "from a normal distribution with mean 0 and standard deviation {initializer_range}.",
       "词表大小，即 token id 的个数；word_embeddings 是一个 {vocab_size} × {hidden_size} 的表，"
       "初始化为均值 0、标准差 {initializer_range} 的正态分布。"},
      {"hidden_size", I, HON, BOTH, 768, 768, &Config::hidden_size, true,
       "Width of every token vector inside the encoder (the model dimension); also the pooler's width.",
       "隐藏层维度：编码器中每个 token 向量的长度（模型维度），也是池化层的宽度。"},
      {"num_hidden_layers", I, HON, BOTH, 12, 12, &Config::num_hidden_layers, true,
       "Number of Transformer encoder layers stacked on the embeddings.",
       "Transformer 编码器的层数，逐层堆叠在嵌入层之上。"},
      {"num_attention_heads", I, HON, BOTH, 12, 12, &Config::num_attention_heads, true,
       "Attention heads per layer; each head works on hidden_size / num_attention_heads[[ = {head_dim}]] "
       "dimensions, so hidden_size must be divisible by it.",
       "每层的注意力头数；每个头处理 hidden_size / num_attention_heads[[ = {head_dim}]] 维，"
       "因此 hidden_size 必须能被它整除。"},
      {"intermediate_size", I, HON, BOTH, 3072, 3072, &Config::intermediate_size, true,
       "Width of the feed-forward (intermediate) layer: each layer maps {hidden_size} -> "
       "{intermediate_size} -> {hidden_size}.",
       "前馈网络（中间层）的宽度：每层先把 {hidden_size} 维映射到 {intermediate_size} 维，再映射回 "
       "{hidden_size} 维。"},
      {"hidden_act", A, HON, BOTH, "gelu", "gelu", &Config::hidden_act, true,
       "Activation of the feed-forward layer, with Hugging Face's meanings. Supported: "
       "{supported_activations}.",
       "隐藏层激活函数，用于每层的前馈网络，含义与 Hugging Face 相同。支持：{supported_activations}。"},
      {"hidden_dropout_prob", F, HON, BOTH, 0.1, 0.1, &Config::hidden_dropout_prob, false,
       "Dropout probability after the embeddings and every sub-layer, in training; inference ignores it.",
       "训练时嵌入层和各子层输出的 dropout 概率；推理时不起作用。"},
      {"attention_probs_dropout_prob", F, HON, BOTH, 0.1, 0.1, &Config::attention_probs_dropout_prob,
       false, "Dropout probability on the attention weights, in training; inference ignores it.",
       "训练时注意力权重的 dropout 概率；推理时不起作用。"},
      {"classifier_dropout", OF, HON, BOTH, NONE, NONE, &Config::classifier_dropout, false,
       "Dropout probability before the classification head, in training; unset: hidden_dropout_prob.",
       "训练时分类头之前的 dropout 概率；未设置时使用 hidden_dropout_prob。"},
      {"dropout", OF, ALI, PD, NONE, NONE, &Config::classifier_dropout, false,
       "Legacy PaddleNLP spelling of classifier_dropout.", "classifier_dropout 的旧版 PaddleNLP 写法。",
       "classifier_dropout"},
      // ---- positions ---------------------------------------------------------------------------
      {"max_position_embeddings", I, HON, BOTH, 512, 512, &Config::max_position_embeddings, true,
       "Number of positions: position_embeddings is a {max_position_embeddings} × {hidden_size} "
       "table, initialized from a normal distribution with mean 0 and standard deviation "
       "{initializer_range}. It bounds the input length[[ ({max_sequence_length} tokens here)]].",
       "最大位置编码数：position_embeddings 是一个 {max_position_embeddings} × {hidden_size} 的表，"
       "初始化为均值 0、标准差 {initializer_range} 的正态分布。它限定了输入的最大长度[[（此处为 "
       "{max_sequence_length} 个 token）]]。"},
      {"position_embedding_type", S, HON, HF, "absolute", "absolute", CUSTOM, true,
       "How positions enter the model: absolute (a learned table added to the embeddings), "
       "relative_key or relative_key_query (learned distance embeddings inside attention, "
       "2 × max_position_embeddings − 1 rows of head_dim per layer).",
       "位置信息的引入方式：absolute（可学习的绝对位置表，加到嵌入上）；relative_key 或 "
       "relative_key_query（注意力内部可学习的相对距离嵌入，每层 2 × max_position_embeddings − 1 行、"
       "每行 head_dim 维）。"},
      {"static_position_embeddings", B, HON, BOTH, false, false, CUSTOM, false,
       "true: a fixed sinusoidal position table replaces the learned one (not trained, not saved as "
       "a trainable weight).",
       "为 true 时用固定的正弦位置表代替可学习的位置表（不参与训练）。"},
      {"type_vocab_size", I, HON, BOTH, 2, 16, &Config::type_vocab_size, true,
       "Number of segment (token type) ids; token_type_embeddings is a {type_vocab_size} × "
       "{hidden_size} table.",
       "句子类型（token type，即 segment）的个数；token_type_embeddings 是一个 {type_vocab_size} × "
       "{hidden_size} 的表。"},
      // ---- ERNIE task embeddings ---------------------------------------------------------------
      {"use_task_id", B, HON, BOTH, false, true, &Config::use_task_id, true,
       "ERNIE 2.0/3.0 task embeddings: when true, task_type_embeddings ({task_type_vocab_size} × "
       "{hidden_size}) is added to the embeddings.",
       "ERNIE 2.0/3.0 的任务嵌入：为 true 时，在嵌入上再加 task_type_embeddings（一个 "
       "{task_type_vocab_size} × {hidden_size} 的表）。"},
      {"task_type_vocab_size", I, HON, BOTH, 3, 3, &Config::task_type_vocab_size, false,
       "Number of task ids (rows of task_type_embeddings); used only when use_task_id is true.",
       "任务 id 的个数（task_type_embeddings 的行数）；仅在 use_task_id 为 true 时使用。"},
      {"task_id", I, HON, PD, 0, 0, &Config::task_id, false,
       "Task id given to every token when the input has no task_type_ids (PaddleNLP).",
       "输入未提供 task_type_ids 时，所有 token 使用的任务 id（PaddleNLP）。"},
      // ---- numerics and initialization ---------------------------------------------------------
      {"initializer_range", F, HON, BOTH, 0.02, 0.02, &Config::initializer_range, true,
       "Standard deviation of the normal distribution (mean 0) that initializes weight matrices and "
       "embedding tables.",
       "初始化权重矩阵和嵌入表所用正态分布（均值 0）的标准差。"},
      {"layer_norm_eps", F, HON, BOTH, 1e-12, 1e-12, &Config::layer_norm_eps, true,
       "Epsilon added to the variance in every LayerNorm, for numerical stability.",
       "每个 LayerNorm 在方差上加的小常数 ε，用于数值稳定。"},
      // ---- special tokens ----------------------------------------------------------------------
      {"pad_token_id", I, HON, BOTH, 0, 0, &Config::pad_token_id, true,
       "Id of the padding token; its row of word_embeddings is initialized to zero (RoBERTa: position "
       "ids start at pad_token_id + 1).",
       "填充符（padding）的 token id；word_embeddings 中该行初始化为零（RoBERTa 的位置编号从 "
       "pad_token_id + 1 开始）。"},
      {"bos_token_id", OI, INE, BOTH, NONE, NONE, &Config::bos_token_id, false,
       "Id of the beginning-of-sequence token; recorded, not used by the encoder.",
       "序列起始符的 token id；仅作记录，编码器不使用。"},
      {"eos_token_id", OI, INE, BOTH, NONE, NONE, &Config::eos_token_id, false,
       "Id of the end-of-sequence token; recorded, not used by the encoder.",
       "序列结束符的 token id；仅作记录，编码器不使用。"},
      // ---- heads -------------------------------------------------------------------------------
      {"pool_act", A, HON, PD, "tanh", "tanh", &Config::pool_act, false,
       "Activation of the pooler (a dense layer on the first token), as PaddleNLP reads it: its BERT and "
       "RoBERTa poolers apply tanh when this is tanh and nothing otherwise; its ERNIE pooler and every "
       "transformers pooler always apply tanh.",
       "池化层（作用于第一个 token 的全连接层）的激活函数，按 PaddleNLP 的用法：其 BERT、RoBERTa 池化层"
       "在取值为 tanh 时使用 tanh，否则不加激活；其 ERNIE 池化层以及 transformers 的所有池化层始终使用 tanh。"},
      {"tie_word_embeddings", B, HON, BOTH, true, true, &Config::tie_word_embeddings, false,
       "The masked-LM decoder shares its weight with word_embeddings (no separate decoder matrix).",
       "掩码语言模型的输出层与 word_embeddings 共享权重（不单独存储解码矩阵）。"},
      {"id2label", O, HON, BOTH, NONE, NONE, CUSTOM, true,
       "Class names by output index (\"0\": \"LABEL_0\", ...); its size is num_labels[[ ({num_labels} "
       "here)]]. Missing: LABEL_0 .. LABEL_{n-1}.",
       "按输出下标排列的类别名称（\"0\": \"LABEL_0\" 等）；其大小即类别数 num_labels[[（此处为 "
       "{num_labels}）]]。缺省时为 LABEL_0 … LABEL_{n-1}。"},
      {"label2id", O, HON, BOTH, NONE, NONE, CUSTOM, false,
       "Inverse of id2label (name -> index); must agree with it.",
       "id2label 的反向映射（名称 -> 下标）；必须与 id2label 一致。"},
      {"num_labels", I, HON, BOTH, 2, 2, CUSTOM, false,
       "Number of classes when id2label is absent (labels LABEL_0 .. LABEL_{n-1}); must match "
       "id2label when both are given.",
       "类别数；未给出 id2label 时标签为 LABEL_0 … LABEL_{n-1}；两者同时给出时必须一致。"},
      {"num_classes", I, ALI, PD, NONE, NONE, CUSTOM, false, "Legacy PaddleNLP spelling of num_labels.",
       "num_labels 的旧版 PaddleNLP 写法。", "num_labels"},
      {"problem_type", S, HON, BOTH, NONE, NONE, &Config::problem_type, false,
       "Training loss of sequence classification: regression, single_label_classification or "
       "multi_label_classification; inference returns logits in every case.",
       "序列分类训练时的损失类型：regression、single_label_classification 或 "
       "multi_label_classification；推理时一律输出 logits。"},
      // ---- rejected when true ------------------------------------------------------------------
      {"is_decoder", B, HON, BOTH, false, false, CUSTOM, false,
       "Must be false: decoder/cross-attention not supported (encoders only).",
       "必须为 false：不支持解码器/交叉注意力（仅支持编码器）。"},
      {"add_cross_attention", B, HON, BOTH, false, false, CUSTOM, false,
       "Must be false: decoder/cross-attention not supported (encoders only).",
       "必须为 false：不支持解码器/交叉注意力（仅支持编码器）。"},
      {"pruned_heads", O, HON, BOTH, json::object(), json::object(), CUSTOM, false,
       "Attention heads removed per layer; must be empty (pruned models are not supported).",
       "各层被剪掉的注意力头；必须为空（不支持剪枝后的模型）。"},
      // ---- training switches -------------------------------------------------------------------
      {"fuse", B, INE, PD, false, false, &Config::fuse, false,
       "PaddleNLP training switch (fused attention/FFN kernels); inert for inference, results are the same.",
       "PaddleNLP 训练开关（融合注意力/前馈算子）；推理时不起作用，结果相同。"},
      {"enable_recompute", B, INE, PD, false, false, &Config::enable_recompute, false,
       "PaddleNLP training switch (recompute activations to save memory); inert for inference.",
       "PaddleNLP 训练开关（重计算激活以节省显存）；推理时不起作用。"},
      {"gradient_checkpointing", X, INE, HF, false, NONE, CUSTOM, false,
       "transformers training switch (recompute activations); inert for inference.",
       "transformers 训练开关（重计算激活）；推理时不起作用。"},
      // ---- provenance --------------------------------------------------------------------------
      {"transformers_version", X, PRO, HF, NONE, NONE, CUSTOM, false,
       "transformers version that wrote the file; marks a Hugging Face file. Informational.",
       "写出该文件的 transformers 版本；表明这是 Hugging Face 的配置文件。仅作记录。"},
      {"paddlenlp_version", X, PRO, PD, NONE, NONE, CUSTOM, false,
       "PaddleNLP version that wrote the file (often null); its presence marks a PaddleNLP file.",
       "写出该文件的 PaddleNLP 版本（常为 null）；出现该键即表明这是 PaddleNLP 的配置文件。"},
      {"init_class", X, ALI, PD, NONE, NONE, CUSTOM, false,
       "Old PaddleNLP model_config.json: the model class; read as architectures.",
       "旧版 PaddleNLP model_config.json 中的模型类名；按 architectures 读取。", "architectures"},
      {"init_args", X, ALI, PD, NONE, NONE, CUSTOM, false,
       "Old PaddleNLP model_config.json: a list whose first element is the config; its keys are read "
       "as top-level keys (keys already at top level win).",
       "旧版 PaddleNLP model_config.json 的写法：一个列表，第一个元素即配置字典；其中的键按顶层键读取"
       "（顶层已有的键优先）。"},
      {"_name_or_path", X, PRO, HF, "", NONE, CUSTOM, false,
       "Where the model was loaded from before it was saved; informational.",
       "保存之前模型的加载路径或名称；仅作记录。"},
      {"_commit_hash", X, PRO, HF, NONE, NONE, CUSTOM, false, "Hub commit the file came from; informational.",
       "文件来自的模型仓库提交；仅作记录。"},
      // ---- inert runtime / export switches -----------------------------------------------------
      {"use_cache", X, INE, BOTH, true, false, CUSTOM, false,
       "Return key/value caches; meaningful only for decoders, inert for an encoder.",
       "是否返回键/值缓存；只对解码器有意义，对编码器不起作用。"},
      {"output_hidden_states", X, INE, BOTH, false, false, CUSTOM, false,
       "Runtime output flag of transformers (return every layer's hidden states); inert in a file here.",
       "transformers 的运行时输出开关（返回每层的隐藏状态）；写在配置文件中在此处不起作用。"},
      {"output_attentions", X, INE, BOTH, false, false, CUSTOM, false,
       "Runtime output flag of transformers (return attention weights); inert in a file here.",
       "transformers 的运行时输出开关（返回注意力权重）；写在配置文件中在此处不起作用。"},
      {"return_dict", X, INE, BOTH, true, false, CUSTOM, false,
       "Runtime flag: return outputs as a dict-like object instead of a tuple; inert.",
       "运行时开关：以字典形式而非元组返回输出；不起作用。"},
      {"torchscript", X, INE, HF, false, NONE, CUSTOM, false, "PyTorch TorchScript export switch; inert.",
       "PyTorch TorchScript 导出开关；不起作用。"},
      {"torch_dtype", X, INE, HF, NONE, NONE, CUSTOM, false,
       "Data type the weights were saved in (float32, float16, bfloat16); informational, the "
       "checkpoint's own dtypes are used.",
       "保存权重时的数据类型（float32、float16、bfloat16）；仅作记录，实际以检查点中的数据类型为准。"},
      {"dtype", X, INE, BOTH, NONE, NONE, CUSTOM, false,
       "Data type the weights were saved in (newer spelling of torch_dtype; PaddleNLP's key); "
       "informational.",
       "保存权重时的数据类型（torch_dtype 的新写法，也是 PaddleNLP 的键名）；仅作记录。"},
      {"use_bfloat16", X, INE, HF, false, NONE, CUSTOM, false, "Legacy TensorFlow switch; inert.",
       "旧版 TensorFlow 开关；不起作用。"},
      {"tf_legacy_loss", X, INE, HF, false, NONE, CUSTOM, false, "TensorFlow loss switch; inert.",
       "TensorFlow 损失函数开关；不起作用。"},
      {"chunk_size_feed_forward", X, INE, BOTH, 0, 0, CUSTOM, false,
       "Run the feed-forward layer in chunks of this many tokens to save memory; results are "
       "identical, so inert.",
       "前馈层按该 token 数分块计算以节省内存；结果完全相同，因此不起作用。"},
      {"is_encoder_decoder", X, INE, BOTH, false, false, CUSTOM, false,
       "Marks encoder-decoder models; inert for an encoder.", "标记编码器-解码器模型；对编码器不起作用。"},
      {"tie_encoder_decoder", X, INE, BOTH, false, false, CUSTOM, false,
       "Ties encoder and decoder weights in encoder-decoder models; inert.",
       "在编码器-解码器模型中绑定两者的权重；不起作用。"},
      {"cross_attention_hidden_size", X, INE, BOTH, NONE, NONE, CUSTOM, false,
       "Cross-attention width for decoders; inert.", "解码器交叉注意力的宽度；不起作用。"},
      {"_attn_implementation", X, INE, HF, NONE, NONE, CUSTOM, false,
       "transformers attention kernel choice (eager, sdpa, ...); same results, inert.",
       "transformers 的注意力实现选择（eager、sdpa 等）；结果相同，不起作用。"},
      {"auto_map", X, INE, HF, NONE, NONE, CUSTOM, false,
       "Custom-code classes for transformers' Auto classes; inert.",
       "为 transformers Auto 类指定的自定义代码类；不起作用。"},
      // ---- tokenizer / task metadata -----------------------------------------------------------
      {"finetuning_task", X, INE, BOTH, NONE, NONE, CUSTOM, false,
       "Name of the fine-tuning task; informational.", "微调任务的名称；仅作记录。"},
      {"tokenizer_class", X, INE, BOTH, NONE, NONE, CUSTOM, false,
       "Tokenizer class to use with the model; informational.", "与模型配套的分词器类名；仅作记录。"},
      {"prefix", X, INE, BOTH, NONE, NONE, CUSTOM, false, "Prompt prefix for generation; inert.",
       "文本生成时添加的前缀；不起作用。"},
      {"sep_token_id", X, INE, BOTH, NONE, NONE, CUSTOM, false,
       "Id of the separator token; informational.", "分隔符的 token id；仅作记录。"},
      {"cls_token_id", X, INE, PD, NONE, NONE, CUSTOM, false,
       "Id of the classification token (PaddleNLP RoBERTa); informational.",
       "分类符的 token id（PaddleNLP RoBERTa）；仅作记录。"},
      {"task_specific_params", X, INE, BOTH, NONE, NONE, CUSTOM, false,
       "Extra per-task settings for pipelines; inert.", "供流水线使用的各任务附加设置；不起作用。"},
  };

  const char* generation[] = {"max_length", "min_length", "do_sample", "early_stopping", "num_beams",
                              "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p",
                              "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
                              "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
                              "output_scores", "return_dict_in_generate", "forced_bos_token_id",
                              "forced_eos_token_id", "remove_invalid_values",
                              "exponential_decay_length_penalty", "suppress_tokens",
                              "begin_suppress_tokens", "decoder_start_token_id"};
  for (const char* k : generation)
    t.push_back({k, X, INE, BOTH, NONE, NONE, CUSTOM, false, kGenEn, kGenZh, nullptr, "generation"});
  for (const char* k : {"pointer_inter_size", "entity_id2label", "relation_id2label", "extraction_schema"})
    t.push_back({k, X, INE, PD, NONE, NONE, CUSTOM, false, kIeEn, kIeZh, nullptr, "paddle_ie"});
  for (const char* k : {"tensor_parallel_degree", "tensor_parallel_rank", "tensor_parallel_output",
                        "sequence_parallel", "use_flash_attention", "recompute_granularity"})
    t.push_back({k, X, INE, PD, NONE, NONE, CUSTOM, false, kParEn, kParZh, nullptr, "paddle_parallel"});
  return t;
}

struct Override {
  const char* key;
  ModelType type;
  ConfigSource source;
  json value;
};

// Where a family's class changes a default of the table (the table holds ERNIE's/BERT's).
const std::vector<Override>& overrides() {
  static const std::vector<Override> o = {
      {"vocab_size", ModelType::Roberta, ConfigSource::HuggingFace, 50265},
      {"pad_token_id", ModelType::Roberta, ConfigSource::HuggingFace, 1},
      {"bos_token_id", ModelType::Roberta, ConfigSource::HuggingFace, 0},
      {"eos_token_id", ModelType::Roberta, ConfigSource::HuggingFace, 2},
      {"vocab_size", ModelType::Roberta, ConfigSource::PaddleNLP, 21128},
      {"cls_token_id", ModelType::Roberta, ConfigSource::PaddleNLP, 101},
      // use_task_id belongs to PaddleNLP's ErnieConfig only; BERT/RoBERTa have no task embeddings.
      {"use_task_id", ModelType::Bert, ConfigSource::PaddleNLP, false},
      {"use_task_id", ModelType::Roberta, ConfigSource::PaddleNLP, false},
  };
  return o;
}

}  // namespace

const std::vector<FieldSpec>& field_table() {
  static const std::vector<FieldSpec> table = build_table();
  return table;
}

const FieldSpec* find_field(const std::string& key) { return find_by_key(field_table(), key); }

json field_default(const FieldSpec& f, ConfigSource source, ModelType type) {
  for (const auto& o : overrides())
    if (o.type == type && o.source == source && f.key == std::string(o.key)) return o.value;
  return source == ConfigSource::PaddleNLP ? f.paddle_default : f.hf_default;
}

std::string default_summary(const FieldSpec& f, ConfigSource source) {
  const json base = source == ConfigSource::PaddleNLP ? f.paddle_default : f.hf_default;
  std::string s = base.is_null() ? "—" : "`" + base.dump() + "`";
  for (const auto& o : overrides()) {
    if (o.source != source || f.key != std::string(o.key) || o.value == base) continue;
    s += " (" + std::string(to_string(o.type)) + ": `" + o.value.dump() + "`)";
  }
  return s;
}

std::string show_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

json field_value(const Config& c, const FieldSpec& f) {
  const std::string k = f.key;
  if (!std::holds_alternative<std::monostate>(f.member)) {
    return std::visit(
        [&](auto m) -> json {
          using T = decltype(m);
          if constexpr (std::is_same_v<T, std::monostate>) {
            return nullptr;
          } else if constexpr (std::is_same_v<T, Activation Config::*>) {
            return to_string(c.*m);
          } else if constexpr (std::is_same_v<T, std::optional<int64_t> Config::*> ||
                               std::is_same_v<T, std::optional<double> Config::*>) {
            return (c.*m) ? json(*(c.*m)) : json(nullptr);
          } else if constexpr (std::is_same_v<T, std::string Config::*>) {
            return (c.*m).empty() ? json(nullptr) : json(c.*m);
          } else {
            return json(c.*m);
          }
        },
        f.member);
  }
  if (k == "model_type") return to_string(c.model_type);
  if (k == "architectures") return c.architectures.empty() ? json(nullptr) : json(c.architectures);
  if (k == "position_embedding_type")
    return c.position_kind == PositionKind::Sinusoidal ? "absolute" : to_string(c.position_kind);
  if (k == "static_position_embeddings") return c.position_kind == PositionKind::Sinusoidal;
  if (k == "num_labels" || k == "num_classes") return c.num_labels();
  if (k == "id2label") {
    json o = json::object();
    for (size_t i = 0; i < c.id2label.size(); ++i) o[std::to_string(i)] = c.id2label[i];
    return o;
  }
  if (k == "label2id") {
    json o = json::object();
    for (size_t i = 0; i < c.id2label.size(); ++i) o[c.id2label[i]] = static_cast<int64_t>(i);
    return o;
  }
  if (k == "is_decoder" || k == "add_cross_attention") return false;
  if (c.original.is_object() && c.original.contains(k)) return c.original.at(k);
  return field_default(f, c.source, c.model_type);
}

std::string fill_placeholders(const std::string& raw, const Config* cfg) {
  // [[...]]: only with a config (values "here"); the docs drop it.
  std::string text;
  for (size_t i = 0; i < raw.size();) {
    if (raw.compare(i, 2, "[[") == 0) {
      const size_t end = raw.find("]]", i);
      if (end != std::string::npos) {
        if (cfg) text += raw.substr(i + 2, end - i - 2);
        i = end + 2;
        continue;
      }
    }
    text += raw[i++];
  }
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    size_t close = open == std::string::npos ? std::string::npos : text.find('}', open);
    if (close == std::string::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, open - i);
    const std::string name = text.substr(open + 1, close - open - 1);
    std::string value;
    if (name == "supported_activations") {
      for (const auto& a : supported_activations()) value += (value.empty() ? "" : ", ") + a;
    } else if (name == "n-1") {
      value = "{n-1}";  // literal in "LABEL_{n-1}"
    } else if (!cfg) {
      value = name;
    } else if (name == "head_dim") {
      value = cfg->num_attention_heads > 0 ? std::to_string(cfg->head_dim()) : "?";
    } else if (name == "max_sequence_length") {
      value = std::to_string(cfg->max_sequence_length());
    } else if (name == "num_labels") {
      value = std::to_string(cfg->num_labels());
    } else if (const FieldSpec* f = find_field(name)) {
      value = show_value(field_value(*cfg, *f));
    } else {
      value = "{" + name + "}";
    }
    out += value;
    i = close + 1;
  }
  return out;
}

}  // namespace ernie::config_detail
