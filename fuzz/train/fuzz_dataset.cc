// libFuzzer target: fine-tuning data files (TSV, JSON lines, CoNLL) through read_dataset, for
// every task, with derived or fixed labels and with skip_bad_rows. The first byte picks the
// options, the rest is the file. A bad file must end in ernie::Error; anything else escaping is a
// finding, and so is an example that does not fit its label set.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "ernie/dataset.h"
#include "ernie/error.h"

namespace {

void check_fits(const ernie::Dataset& d, const ernie::LabelSet& labels, ernie::TaskType task) {
  for (const ernie::Example& e : d.examples) {
    switch (task) {
      case ernie::TaskType::SingleLabel:
        FUZZ_CHECK(e.label >= 0 && e.label < labels.size());
        break;
      case ernie::TaskType::MultiLabel:
        FUZZ_CHECK(static_cast<int32_t>(e.targets.size()) == labels.size());
        break;
      case ernie::TaskType::Regression:
        FUZZ_CHECK(!e.targets.empty() && e.targets.size() == d.examples[0].targets.size());
        break;
      case ernie::TaskType::TokenClassification:
        FUZZ_CHECK(!e.words.empty() && e.words.size() == e.tags.size());
        for (const int32_t t : e.tags) FUZZ_CHECK(t >= 0 && t < labels.size());
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string path = memory_file({reinterpret_cast<const char*>(data + 1), size - 1});
  if (path.empty()) return 0;

  ernie::DataOptions o;
  const ernie::DataFormat formats[] = {ernie::DataFormat::Tsv, ernie::DataFormat::JsonLines, ernie::DataFormat::Conll};
  o.format = formats[(mode & 3) % 3];
  const ernie::TaskType tasks[] = {ernie::TaskType::SingleLabel, ernie::TaskType::MultiLabel,
                                   ernie::TaskType::Regression};
  o.task = o.format == ernie::DataFormat::Conll ? ernie::TaskType::TokenClassification : tasks[((mode >> 2) & 3) % 3];
  o.skip_bad_rows = mode & 16;
  o.columns = (mode & 32) ? 3 : 0;
  if (mode & 64) o.text_b_field = "text_b";
  ernie::LabelSet labels;
  if (mode & 128) labels = ernie::LabelSet::from_names({"O", "B-PER", "I-PER", "neg", "pos"});
  try {
    const ernie::Dataset d = ernie::read_dataset(path, o, labels, true);
    check_fits(d, labels, o.task);
  } catch (const ernie::Error&) {
  }
  return 0;
}
