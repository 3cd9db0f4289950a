#include "fs/core/xattrs.h"

namespace re2po::fs {

std::string SignatureXattrValue(const VersionSignature& signature) {
  return "ed25519 " + HexOf(signature.public_key) + " " + HexOf(signature.signature);
}

std::vector<std::pair<std::string, std::string>> XattrsOf(const Node& node) {
  std::vector<std::pair<std::string, std::string>> xattrs;
  if (node.kind != NodeKind::kEntry) return xattrs;
  if (node.entry == 0) {
    const VersionRecord& record = node.version->record();
    xattrs.emplace_back(kDigestXattr, record.digest.Hex());
    for (const auto& [key, value] : record.labels) {
      xattrs.emplace_back(std::string(kLabelXattrPrefix) + key, value);
    }
  } else if (node.tree_entry().type == EntryType::kFile) {
    xattrs.emplace_back(kDigestXattr, node.tree_entry().digest.Hex());
  }
  return xattrs;
}

std::optional<std::string> XattrOf(const Node& node, std::string_view name) {
  for (auto& [key, value] : XattrsOf(node)) {
    if (key == name) return std::move(value);
  }
  return std::nullopt;
}

std::string XattrNameList(const Node& node) {
  std::string names;
  for (const auto& [key, value] : XattrsOf(node)) {
    names += key;
    names += '\0';
  }
  return names;
}

}  // namespace re2po::fs
