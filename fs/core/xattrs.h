// Extended attributes, all read-only and computed from the catalog:
//   user.re2po.digest       version directories: the version digest (hex);
//                           regular files: the SHA-256 of the content (hex)
//   user.re2po.label.<key>  version directories: the version's labels
//   user.re2po.signature    version directories, when signed (`re2po sign`):
//                           "ed25519 <public key hex> <signature hex>"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/core/inode_table.h"

namespace re2po::fs {

inline constexpr std::string_view kDigestXattr = "user.re2po.digest";
inline constexpr std::string_view kLabelXattrPrefix = "user.re2po.label.";
inline constexpr std::string_view kSignatureXattr = "user.re2po.signature";

std::string SignatureXattrValue(const VersionSignature& signature);

// Every (name, value) of a node, in a stable order.
std::vector<std::pair<std::string, std::string>> XattrsOf(const Node& node);
std::optional<std::string> XattrOf(const Node& node, std::string_view name);
// The names, each followed by a NUL: the listxattr(2) format.
std::string XattrNameList(const Node& node);

}  // namespace re2po::fs
