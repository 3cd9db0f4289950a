// PyTorch checkpoints. The unit of deduplication is the storage: every
// tensor is a view of one, and each storage's bytes are contiguous.
//  - Zip (torch.save >= 1.6, TorchScript): each stored `<top>/data/<key>`
//    (and `<top>/constants/<key>`) entry is one storage; the sibling
//    data.pkl / constants.pkl names its type and a tensor that uses it.
//  - Legacy stream (torch.save before 1.6): five pickles, then per storage
//    an int64 element count and the raw bytes.
#pragma once

#include "store/formats/format.h"

namespace re2po {

Result<ParsedFile> ParsePytorchZip(ByteSpan bytes);
Result<ParsedFile> ParsePytorchLegacy(ByteSpan bytes);
// Dispatches on the first bytes: zip or legacy magic pickle.
Result<ParsedFile> ParsePytorch(ByteSpan bytes);

bool LooksLikePytorchLegacy(ByteSpan head);

const FormatParser& PytorchFormat();

}  // namespace re2po
