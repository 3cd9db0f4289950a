#include "tools/re2po/provenance_view.h"

#include <set>

#include "tools/re2po/cli.h"

namespace re2po::cli {
namespace {

std::string RefOf(const std::string& model, uint64_t version) {
  return model + "@" + std::to_string(version);
}

nlohmann::json SignatureJson(const std::optional<VersionSignature>& signature) {
  if (!signature) return nullptr;
  Result<PublicKey> key = PublicKey::FromRaw(signature->public_key);
  return {{"key", key.ok() ? key->Id() : std::string("malformed")},
          {"signed", FormatTime(signature->signed_ns)}};
}

}  // namespace

Result<std::map<Digest, std::string>> VersionsHoldingFiles(Store& store,
                                                           const std::vector<Digest>& files) {
  std::map<Digest, std::string> found;
  std::set<Digest> wanted(files.begin(), files.end());
  const auto catalog = store.Catalog();
  for (const ModelEntry& model : catalog->models()) {
    for (const VersionRecord& version : model.versions) {
      if (wanted.empty()) return found;
      ASSIGN_OR_RETURN(auto tree, store.Tree(version));
      for (const TreeEntry& entry : tree->entries()) {
        if (entry.type != EntryType::kFile || !wanted.contains(entry.digest)) continue;
        found.emplace(entry.digest, RefOf(version.model, version.version));
        wanted.erase(entry.digest);
      }
    }
  }
  return found;
}

Result<nlohmann::json> ProvenanceJson(Store& store, const VersionRecord& version) {
  const VersionProvenance& provenance = version.provenance;
  nlohmann::json out = {{"id", VersionId(version.digest)},
                        {"short_id", ShortVersionId(version.digest)},
                        {"imported_by", provenance.user},
                        {"host", provenance.host},
                        {"tool", provenance.tool}};
  out["protected_by"] = nullptr;
  if (version.protection) {
    out["protected_by"] = {{"key", version.protection->key_name},
                           {"key_id", HexOf(version.protection->key_id)}};
  }
  out["parent"] = nullptr;
  if (provenance.parent) {
    out["parent"] = {{"version", RefOf(provenance.parent->model, provenance.parent->version)},
                     {"id", VersionId(provenance.parent->digest)}};
  }
  ASSIGN_OR_RETURN(auto holders, VersionsHoldingFiles(store, provenance.delta_base_files));
  nlohmann::json bases = nlohmann::json::array();
  for (const Digest& file : provenance.delta_base_files) {
    auto it = holders.find(file);
    // A base file whose versions were all removed stays as its digest (gc
    // keeps the chunks a delta needs, not the versions).
    bases.push_back(it != holders.end() ? it->second : "file " + file.ShortHex());
  }
  out["delta_bases"] = bases;
  ASSIGN_OR_RETURN(std::optional<VersionSignature> signature, store.SignatureOf(version));
  out["signature"] = SignatureJson(signature);
  return out;
}

Status CheckSignature(Store& store, const VersionRecord& version, const PublicKey& trusted) {
  const std::string name = RefOf(version.model, version.version);
  ASSIGN_OR_RETURN(std::optional<VersionSignature> signature, store.SignatureOf(version));
  if (!signature) return Status::PermissionDenied(name + " is not signed");
  if (signature->public_key != trusted.raw()) {
    ASSIGN_OR_RETURN(PublicKey signer, PublicKey::FromRaw(signature->public_key));
    return Status::PermissionDenied(name + " is signed by key " + signer.Id() +
                                    ", not by the trusted key " + trusted.Id());
  }
  if (!trusted.Verify(VersionSigningMessage(version), signature->signature)) {
    return Status::PermissionDenied(
        "the signature of " + name +
        " does not match: its content or metadata changed after it was signed");
  }
  return Status::Ok();
}

}  // namespace re2po::cli
