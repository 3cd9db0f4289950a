#include "store/formats/gguf.h"
#include "store/formats/hdf5.h"
#include "store/formats/keras.h"
#include "store/formats/onnx.h"
#include "store/formats/pytorch.h"
#include "store/formats/safetensors.h"
#include "store/formats/tf_bundle.h"
#include "store/formats/tflite.h"

namespace re2po {

// Sniffers look at magic bytes or names, so at most one claims a file in
// practice; the ones with the strongest magic go first.
const std::vector<FormatParser>& AllFormatParsers() {
  static const std::vector<FormatParser> parsers = {
      GgufFormat(),    TfliteFormat(),   Hdf5Format(),        KerasFormat(),
      PytorchFormat(), TfBundleFormat(), SafetensorsFormat(), OnnxFormat(),
  };
  return parsers;
}

}  // namespace re2po
