#include "store/formats/gguf.h"
#include "store/formats/onnx.h"
#include "store/formats/safetensors.h"
#include "store/formats/tflite.h"

namespace re2po {

// Sniffers are cheap and precise (magic bytes or extensions), so order only
// matters where two could claim one file; the most specific go first.
const std::vector<FormatParser>& AllFormatParsers() {
  static const std::vector<FormatParser> parsers = {
      GgufFormat(),
      TfliteFormat(),
      SafetensorsFormat(),
      OnnxFormat(),
  };
  return parsers;
}

}  // namespace re2po
