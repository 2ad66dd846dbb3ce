// libFuzzer target: the safetensors header parser and data-area validation (parse_safetensors).
#include <cstddef>
#include <cstdint>

#include "ernie/error.h"
#include "ernie/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ernie::parse_safetensors(data, size, "fuzz");
  } catch (const ernie::Error&) {
  }
  return 0;
}
