#include <cstdio>
#include <iostream>
#include <optional>
#include <set>

#include "store/base/dtype.h"
#include "store/tensor_storage.h"
#include "tools/re2po/commands.h"
#include "tools/re2po/provenance_view.h"

namespace re2po::cli {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

const char* TypeName(EntryType type) {
  switch (type) {
    case EntryType::kDirectory:
      return "dir";
    case EntryType::kFile:
      return "file";
    case EntryType::kSymlink:
      return "link";
  }
  return "?";
}

// Digests of every tensor in every version other than `self`.
Result<std::set<Digest>> TensorsElsewhere(Store& store, const VersionRecord& self) {
  std::set<Digest> seen;
  const auto catalog = store.Catalog();  // the range-for would not keep it alive
  for (const ModelEntry& model : catalog->models()) {
    for (const VersionRecord& v : model.versions) {
      if (v.seq == self.seq) continue;
      ASSIGN_OR_RETURN(auto tree, store.Tree(v));
      for (const TreeEntry& entry : tree->entries()) {
        if (entry.type != EntryType::kFile) continue;
        ASSIGN_OR_RETURN(FileInfo info, store.FileDetails(entry.digest));
        for (const TensorRecord& t : info.tensors) seen.insert(t.digest);
      }
    }
  }
  return seen;
}

Result<nlohmann::json> DescribeVersion(Store& store, const VersionRecord& v, bool tensors) {
  ASSIGN_OR_RETURN(auto tree, store.Tree(v));
  std::set<Digest> elsewhere;
  std::optional<TensorStorageView> storage;
  if (tensors) {
    ASSIGN_OR_RETURN(elsewhere, TensorsElsewhere(store, v));
    ASSIGN_OR_RETURN(storage, TensorStorageView::Build(store));
  }
  nlohmann::json files = nlohmann::json::array();
  for (uint32_t i = 1; i < tree->size(); ++i) {
    const TreeEntry& entry = tree->entry(i);
    nlohmann::json file = {{"path", tree->PathOf(i)},
                           {"type", TypeName(entry.type)},
                           {"mode", entry.mode},
                           {"size", entry.size}};
    if (entry.type == EntryType::kSymlink) file["target"] = entry.target;
    if (entry.type == EntryType::kFile) {
      file["digest"] = entry.digest.Hex();
      ASSIGN_OR_RETURN(FileInfo info, store.FileDetails(entry.digest));
      file["format"] = info.format;
      if (!info.fallback_reason.empty()) file["fallback"] = info.fallback_reason;
      file["tensor_count"] = info.tensors.size();
      if (tensors) {
        ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(entry.digest));
        nlohmann::json list = nlohmann::json::array();
        for (const TensorRecord& t : info.tensors) {
          ASSIGN_OR_RETURN(TensorStorage stored, storage->Describe(*recipe, t));
          list.push_back({{"name", t.name},
                          {"dtype", DTypeName(static_cast<DType>(t.dtype))},
                          {"native_dtype", t.native_dtype},
                          {"shape", t.shape},
                          {"offset", t.offset},
                          {"bytes", t.length},
                          {"digest", t.digest.Hex()},
                          {"shared", elsewhere.contains(t.digest)},
                          {"stored", stored.Text()},
                          {"stored_as", stored.how},
                          {"stored_from", stored.base}});
        }
        file["tensors"] = list;
      }
    }
    files.push_back(file);
  }
  ASSIGN_OR_RETURN(nlohmann::json provenance, ProvenanceJson(store, v));
  return nlohmann::json{{"model", v.model},
                        {"version", v.version},
                        {"digest", v.digest.Hex()},
                        {"provenance", provenance},
                        {"created", FormatTime(v.created_ns)},
                        {"source", v.source_path},
                        {"labels", v.labels},
                        {"logical_bytes", v.logical_bytes},
                        {"new_bytes", v.new_bytes},
                        {"files", files}};
}

void PrintProvenance(const nlohmann::json& p) {
  std::cout << "  id:       " << p["id"].get<std::string>() << " (short "
            << p["short_id"].get<std::string>() << ")\n";
  if (!p["imported_by"].get<std::string>().empty()) {
    std::cout << "  imported: by " << p["imported_by"].get<std::string>() << " on "
              << p["host"].get<std::string>() << " with " << p["tool"].get<std::string>() << "\n";
  }
  if (!p["protected_by"].is_null()) {
    std::cout << "  protected: by key " << p["protected_by"]["key"].get<std::string>() << " (id "
              << p["protected_by"]["key_id"].get<std::string>() << ")\n";
  }
  if (!p["parent"].is_null()) {
    std::cout << "  parent:   " << p["parent"]["version"].get<std::string>() << " ("
              << p["parent"]["id"].get<std::string>() << ")\n";
  }
  for (const auto& base : p["delta_bases"]) {
    std::cout << "  deltas:   against " << base.get<std::string>() << "\n";
  }
  if (p["signature"].is_null()) {
    std::cout << "  signed:   no\n";
  } else {
    std::cout << "  signed:   by key " << p["signature"]["key"].get<std::string>() << " at "
              << p["signature"]["signed"].get<std::string>()
              << " (check it: re2po verify MODEL@VERSION --trust KEY.pub)\n";
  }
}

void PrintVersion(const nlohmann::json& v, bool tensors) {
  std::cout << v["model"].get<std::string>() << "@" << v["version"] << "\n"
            << "  digest:   " << v["digest"].get<std::string>() << "\n";
  PrintProvenance(v["provenance"]);
  std::cout << "  created:  " << v["created"].get<std::string>() << "\n"
            << "  source:   " << v["source"].get<std::string>() << "\n"
            << "  size:     " << HumanBytes(v["logical_bytes"]) << " (newly stored "
            << HumanBytes(v["new_bytes"]) << ")\n";
  for (const auto& [key, value] : v["labels"].items()) {
    std::cout << "  label:    " << key << "=" << value.get<std::string>() << "\n";
  }
  std::cout << "  files:\n";
  for (const auto& f : v["files"]) {
    std::printf("    %-4s %04o %12s  %s", f["type"].get<std::string>().c_str(),
                f["mode"].get<unsigned>(), HumanBytes(f["size"]).c_str(),
                f["path"].get<std::string>().c_str());
    if (f.contains("target")) std::printf(" -> %s", f["target"].get<std::string>().c_str());
    if (f.contains("format")) {
      std::printf("  [%s, %zu tensors]", f["format"].get<std::string>().c_str(),
                  f["tensor_count"].get<size_t>());
    }
    std::printf("\n");
    if (!tensors || !f.contains("tensors")) continue;
    for (const auto& t : f["tensors"]) {
      std::printf("        %-48s %-8s %-20s %12s %-6s %s\n", t["name"].get<std::string>().c_str(),
                  t["dtype"].get<std::string>().c_str(),
                  ShapeText(t["shape"].get<std::vector<int64_t>>()).c_str(),
                  HumanBytes(t["bytes"]).c_str(), t["shared"].get<bool>() ? "shared" : "unique",
                  t["stored"].get<std::string>().c_str());
    }
  }
  std::cout << std::flush;
}

}  // namespace

Status RunShow(const GlobalOptions& global, const ShowArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  ASSIGN_OR_RETURN(VersionRecord version, ResolveVersion(*store, args.ref));
  ASSIGN_OR_RETURN(nlohmann::json described, DescribeVersion(*store, version, args.tensors));
  if (args.json) {
    PrintJson(described);
  } else {
    PrintVersion(described, args.tensors);
  }
  return Status::Ok();
}

void RegisterShow(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<ShowArgs>();
  CLI::App& show =
      AddCommand(app, chosen, args, "show", "show a version's metadata and files", RunShow);
  show.add_option("MODEL[@VERSION]", args->ref, "the version (default: the model's latest)")
      ->required();
  show.add_flag("--tensors", args->tensors,
                "list each tensor, whether other versions share it, and how it is stored");
  show.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
