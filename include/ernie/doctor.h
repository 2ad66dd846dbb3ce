// `ernie config doctor FILE [--attr NAME]`: for a config and, optionally, the attribute named in an
// AttributeError (`'BartConfig' object has no attribute 'static_position_embeddings'`), what the
// attribute is, which transformers versions and model types have it, why the error arises with
// this file, and the fix (the value to add to config.json, or the version to pin).
#pragma once
#include <filesystem>
#include <string>

namespace ernie {

// lang: "en" or "zh". attr: "" for a general check of the file's legacy switches; a name; or the
// whole AttributeError line (the class and attribute are taken from its quotes).
std::string doctor_config(const std::filesystem::path& path, const std::string& attr, const std::string& lang);

}  // namespace ernie
