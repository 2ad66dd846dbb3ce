// libFuzzer target: the PyTorch .bin reader (libzip on a memory buffer + data.pkl + storages).
#include <cstddef>
#include <cstdint>

#include "ernie/checkpoint.h"
#include "ernie/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ernie::ReadLimits limits;
  limits.max_tensor_bytes = 64u << 20;
  try {
    ernie::parse_torch_zip(data, size, "fuzz", limits);
  } catch (const ernie::Error&) {
  }
  return 0;
}
