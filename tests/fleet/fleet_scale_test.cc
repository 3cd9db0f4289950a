// A fleet on one machine: 20 edge nodes, each a mount.re2po daemon with its
// own cache directory, mount the same remote (on one Ceph, or on one OCI
// registry) and load different
// mixes of models that share backbones. What a node fetches is what it
// read, once: its bytes stay within 5 % of the stored bytes of the distinct
// chunks it read, a backbone shared by two of its models comes once, and a
// fine-tune pushed later costs the nodes that load it only its new chunks.
// The figures (requests and bytes per node, totals at the engine) are
// printed.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <iomanip>
#include <regex>
#include <set>
#include <thread>
#include <unordered_map>

#include "store/fleet/remote_catalog.h"
#include "store/fleet/remote_keys.h"
#include "store/fleet/version_object.h"
#include "tests/fleet/fleet_processes.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kHeadBytes = size_t{256} << 10;
constexpr int kTestNodes = 20;
constexpr int kMaxNodes = 120;   // mixes of 2-4 of the 8 models sharing a backbone: 138
constexpr double kSlack = 1.05;  // what a node may fetch beyond the chunks it read
constexpr auto kDeadline = std::chrono::seconds(90);

// Tensors of exactly 1 MiB: each is one chunk, wherever it sits.
struct Backbone {
  const char* name;
  size_t layers;
  uint64_t seed;
};
constexpr Backbone kBackbones[] = {{"vit", 4, 100}, {"bert", 3, 200}};

// How a model's tensors are spread over files: one file, a directory of a
// backbone file and a head file, or two shards cut inside the backbone.
enum class Layout { kOneFile, kBackboneAndHead, kShards };

struct ZooModel {
  std::string name;
  size_t backbone;
  Layout layout;
  uint64_t head_seed;
};

// Eight fine-tunes, four per backbone, each with a head of its own.
const std::vector<ZooModel>& Zoo() {
  static const std::vector<ZooModel> zoo = {
      {"vit-pets", 0, Layout::kOneFile, 1},         {"vit-cars", 0, Layout::kBackboneAndHead, 2},
      {"vit-birds", 0, Layout::kShards, 3},         {"vit-food", 0, Layout::kOneFile, 4},
      {"bert-sst", 1, Layout::kBackboneAndHead, 5}, {"bert-ner", 1, Layout::kShards, 6},
      {"bert-qa", 1, Layout::kOneFile, 7},          {"bert-nli", 1, Layout::kBackboneAndHead, 8},
  };
  return zoo;
}

// How many nodes: 20 in the suite, 8 in sanitizer builds (where each
// daemon is several times slower and the 20 took over two minutes); the
// benchmark (tools/bench/run-fleet-scale) asks for more with RE2PO_FLEET_NODES.
int NodeCount() {
  const char* asked = std::getenv("RE2PO_FLEET_NODES");
  if (asked == nullptr || *asked == '\0') return static_cast<int>(Scaled(kTestNodes, 8));
  return std::clamp(std::atoi(asked), 1, kMaxNodes);
}

// Whether a mix has two models on the same backbone.
bool SharesABackbone(const std::vector<size_t>& mix) {
  std::set<size_t> backbones;
  for (size_t m : mix) {
    if (!backbones.insert(Zoo()[m].backbone).second) return true;
  }
  return false;
}

// Which models each node loads (indices into Zoo()): different mixes of 2
// to 4 models, each with two models on the same backbone. The first 20 are
// chosen by hand; more nodes take the other such subsets in order.
const std::vector<std::vector<size_t>>& Mixes() {
  static const std::vector<std::vector<size_t>> mixes = [] {
    std::vector<std::vector<size_t>> chosen = {
        {0, 1},    {0, 2, 5},    {0, 3, 6, 7}, {1, 2},    {1, 3, 4},    {2, 3, 5, 6}, {4, 5},
        {3, 4, 6}, {0, 1, 4, 7}, {5, 6},       {2, 5, 7}, {0, 1, 6, 7}, {0, 1, 4},    {0, 2, 5, 6},
        {0, 3},    {1, 2, 7},    {1, 3, 4, 5}, {2, 3},    {2, 4, 5},    {0, 3, 4, 6},
    };
    std::set<std::vector<size_t>> seen(chosen.begin(), chosen.end());
    const size_t models = Zoo().size();
    for (uint32_t bits = 0; bits < (1u << models) && chosen.size() < kMaxNodes; ++bits) {
      std::vector<size_t> mix;
      for (size_t m = 0; m < models; ++m) {
        if (bits & (1u << m)) mix.push_back(m);
      }
      if (mix.size() < 2 || mix.size() > 4 || !SharesABackbone(mix) || seen.contains(mix)) continue;
      seen.insert(mix);
      chosen.push_back(std::move(mix));
    }
    return chosen;
  }();
  return mixes;
}

constexpr size_t kTunedModel = 0;  // vit-pets, loaded by 9 nodes
constexpr uint64_t kTunedLayerSeed = 999;

std::string Ref(const std::string& model, uint64_t version) {
  return model + "@" + std::to_string(version);
}

// A model's files; `tuned_last_layer` replaces the backbone's last layer
// (a fine-tune that trained its last block).
SourceFiles ModelFiles(const ZooModel& model, std::optional<uint64_t> tuned_last_layer = {}) {
  const Backbone& backbone = kBackbones[model.backbone];
  std::vector<NamedTensor> body;
  for (size_t i = 0; i < backbone.layers; ++i) {
    const bool tuned = tuned_last_layer && i + 1 == backbone.layers;
    body.emplace_back(std::string(backbone.name) + ".layer" + std::to_string(i) + ".weight",
                      RandomBytes(kMiB, tuned ? *tuned_last_layer : backbone.seed + i));
  }
  const NamedTensor head("head.weight", RandomBytes(kHeadBytes, 10'000 + model.head_seed));
  switch (model.layout) {
    case Layout::kOneFile: {
      body.push_back(head);
      return {{"model.safetensors", SafetensorsFile(body)}};
    }
    case Layout::kBackboneAndHead:
      return {{"backbone.safetensors", SafetensorsFile(body)},
              {"head.safetensors", SafetensorsFile({head})}};
    case Layout::kShards: {
      std::vector<NamedTensor> second(body.begin() + body.size() / 2, body.end());
      body.resize(body.size() / 2);
      second.push_back(head);
      return {{"model-00001-of-00002.safetensors", SafetensorsFile(body)},
              {"model-00002-of-00002.safetensors", SafetensorsFile(second)}};
    }
  }
  return {};
}

// Chunk -> stored length (the bytes a node fetches for it).
using StoredChunks = std::unordered_map<Digest, uint64_t, DigestHash>;

uint64_t TotalBytes(const StoredChunks& chunks) {
  uint64_t total = 0;
  for (const auto& [chunk, length] : chunks) total += length;
  return total;
}

// Every version on the remote as a node sees it, by "model@version",
// decoded from the version objects (checked against their names) that the
// catalog names.
Result<std::map<std::string, VersionObject>> FetchVersionObjects(ObjectStore& remote) {
  RemoteCatalogState state;
  RemoteCatalogReader reader(remote, nullptr, nullptr);
  RETURN_IF_ERROR(reader.Update(state).status());
  std::map<std::string, VersionObject> objects;
  for (const auto& [name, entry] : state.entries) {
    ASSIGN_OR_RETURN(VersionObject decoded, FetchVersionObject(remote, entry.object));
    const std::string ref = Ref(decoded.record.model, decoded.record.version);
    objects.emplace(ref, std::move(decoded));
  }
  return objects;
}

// Adds what a node must fetch to read `path` of a version whole: every
// chunk of its recipe, and the base of each delta chunk.
void AddChunksToRead(const VersionObject& object, const std::string& path, StoredChunks& chunks) {
  const std::optional<uint32_t> index = object.tree.Find(path);
  ASSERT_TRUE(index.has_value()) << path << " is not in " << object.record.model;
  const VersionFile* file = object.FindFile(object.tree.entry(*index).digest);
  ASSERT_NE(file, nullptr) << path;
  for (const Extent& extent : file->recipe.extents) {
    const ChunkLocation& where = object.chunks.at(extent.chunk);
    chunks.emplace(extent.chunk, where.length);
    if (where.info.base)
      chunks.emplace(*where.info.base, object.chunks.at(*where.info.base).length);
  }
}

// Runs body(i) for i in [0, count) on `threads` threads.
template <typename Body>
void ParallelFor(int count, int threads, Body body) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) body(i);
    });
  }
  for (std::thread& worker : workers) worker.join();
}

// What radosgw served for one bucket, from the `beast:` lines of its log
// (one per request: method, path, status, body bytes): the engine's own
// count, beside what the nodes count.
struct EngineTraffic {
  uint64_t requests = 0;
  uint64_t bytes = 0;  // response bodies
  uint64_t pack_gets = 0;
  uint64_t pack_bytes = 0;
  uint64_t version_gets = 0;
  uint64_t version_bytes = 0;
  uint64_t catalog_requests = 0;  // head, log records and their listing
  uint64_t catalog_bytes = 0;
  uint64_t writes = 0;  // PUTs (their upload sizes are not in the log line)
};

// What a registry served to one repository, from the "response completed"
// lines of Distribution's JSON log, with pack bytes by User-Agent (each
// node names itself). Packs, version objects and the catalog's objects are
// all blobs: told apart by digest.
struct RegistryBlobs {
  std::set<std::string> packs;
  std::set<std::string> versions;
};

EngineTraffic RegistryTraffic(std::istream& in, const std::string& repository,
                              const RegistryBlobs& blobs,
                              std::map<std::string, uint64_t>* pack_bytes_by_agent) {
  EngineTraffic traffic;
  const std::string mine = "/v2/" + repository + "/";
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("response completed") == std::string::npos) continue;
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || entry.value("msg", "") != "response completed") continue;
    const std::string uri = entry.value("http.request.uri", "");
    if (!uri.starts_with(mine)) continue;
    const std::string method = entry.value("http.request.method", "");
    const uint64_t bytes = entry.value("http.response.written", uint64_t{0});
    ++traffic.requests;
    traffic.bytes += bytes;
    const size_t blob = uri.find("/blobs/sha256:");
    if (method != "GET" && method != "HEAD") {
      ++traffic.writes;
    } else if (method == "GET" && blob != std::string::npos) {
      const std::string digest = uri.substr(blob + 14, 64);
      if (blobs.versions.contains(digest)) {
        ++traffic.version_gets;
        traffic.version_bytes += bytes;
      } else if (!blobs.packs.contains(digest)) {
        ++traffic.catalog_requests;  // the head's and log records' blobs
        traffic.catalog_bytes += bytes;
      } else {
        ++traffic.pack_gets;
        traffic.pack_bytes += bytes;
        if (pack_bytes_by_agent != nullptr) {
          (*pack_bytes_by_agent)[entry.value("http.request.useragent", "")] += bytes;
        }
      }
    } else if (uri.find("/manifests/") != std::string::npos ||
               uri.find("/tags/list") != std::string::npos) {
      ++traffic.catalog_requests;
      traffic.catalog_bytes += bytes;
    }
  }
  return traffic;
}

class EngineLog {
 public:
  // Counts from the log's current end on.
  explicit EngineLog(stdfs::path path) : path_(std::move(path)) {
    std::error_code ec;
    const auto size = stdfs::file_size(path_, ec);
    available_ = !ec;
    offset_ = ec ? 0 : size;
  }
  bool available() const { return available_; }
  void Restart() { *this = EngineLog(path_); }

  EngineTraffic SinceOnRegistry(const std::string& repository, const RegistryBlobs& blobs,
                                std::map<std::string, uint64_t>* pack_bytes_by_agent) const {
    std::ifstream in(path_);
    in.seekg(static_cast<std::streamoff>(offset_));
    return RegistryTraffic(in, repository, blobs, pack_bytes_by_agent);
  }

  EngineTraffic Since(const std::string& bucket) const {
    EngineTraffic traffic;
    std::ifstream in(path_);
    in.seekg(static_cast<std::streamoff>(offset_));
    static const std::regex kRequest(R"re("(\w+) (/[^ ]*) HTTP/[0-9.]+" (\d+) (\d+))re");
    const std::string mine = "/" + bucket;
    std::string line;
    std::smatch match;
    while (std::getline(in, line)) {
      if (line.find(" beast: ") == std::string::npos || line.find(mine) == std::string::npos ||
          !std::regex_search(line, match, kRequest)) {
        continue;
      }
      const std::string method = match[1], target = match[2];
      if (!target.starts_with(mine) || (target.size() > mine.size() && target[mine.size()] != '/' &&
                                        target[mine.size()] != '?')) {
        continue;  // another bucket whose name starts like ours
      }
      const uint64_t bytes = std::stoull(match[4]);
      ++traffic.requests;
      traffic.bytes += bytes;
      if (method == "PUT") {
        ++traffic.writes;
      } else if (method == "GET" && target.find("/packs/") != std::string::npos) {
        ++traffic.pack_gets;
        traffic.pack_bytes += bytes;
      } else if (method == "GET" && target.find("/versions/") != std::string::npos) {
        ++traffic.version_gets;
        traffic.version_bytes += bytes;
      } else if (target.ends_with("/head") || target.find("/log/") != std::string::npos ||
                 target.find("prefix=") != std::string::npos) {
        ++traffic.catalog_requests;
        traffic.catalog_bytes += bytes;
      }
    }
    return traffic;
  }

 private:
  stdfs::path path_;
  uint64_t offset_ = 0;
  bool available_ = false;
};

std::string Mib(uint64_t bytes) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / kMiB << " MiB";
  return text.str();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

class FleetScaleTest : public FleetProcessTest {
 protected:
  void RunFleet();

  EngineLog NewEngineLog() const {
    if (on_registry_) return EngineLog(registry_->log());
    return EngineLog(env_->dir / "log" / "ceph-client.rgw.re2po.log");
  }

  EngineTraffic Served(const EngineLog& engine, const std::map<std::string, VersionObject>& objects,
                       std::map<std::string, uint64_t>* pack_bytes_by_agent = nullptr) const {
    if (!on_registry_) return engine.Since(bucket_->options().bucket);
    RegistryBlobs blobs;
    for (const auto& [ref, object] : objects) {
      blobs.versions.insert(Sha256Of(object.Encode()).Hex());
      for (const Digest& pack : object.packs) blobs.packs.insert(pack.Hex());
    }
    return engine.SinceOnRegistry(std::string(kPrefix) + "/fleet", blobs, pack_bytes_by_agent);
  }

  // Waits until every node has written its stats after `after` (so they
  // count everything done before it) with its cache holding at least
  // `cache_bytes[i]`: the cache is filled before a read returns, and the
  // counters are read after the cache's usage, so the snapshot is complete.
  std::vector<NodeStats> StatsAfter(const std::vector<std::unique_ptr<NodeDaemon>>& nodes,
                                    std::chrono::system_clock::time_point after,
                                    const std::vector<uint64_t>& cache_bytes) {
    std::vector<std::optional<NodeStats>> stats(nodes.size());
    const bool complete = WaitFor(
        [&] {
          bool done = true;
          for (size_t i = 0; i < nodes.size(); ++i) {
            if (stats[i]) continue;
            std::optional<NodeStats> now = ReadNodeStats(nodes[i]->cache_dir());
            if (now && now->written > after && now->cache_bytes >= cache_bytes[i]) {
              stats[i] = now;
            } else {
              done = false;
            }
          }
          return done;
        },
        kDeadline);
    EXPECT_TRUE(complete) << "not every node wrote complete stats";
    std::vector<NodeStats> result;
    for (size_t i = 0; i < nodes.size(); ++i) {
      EXPECT_TRUE(stats[i].has_value())
          << nodes[i]->name() << " wrote no complete stats within " << kDeadline.count()
          << " s; last: " << FileText(nodes[i]->cache_dir() / "node-stats.json") << "\nits log:\n"
          << nodes[i]->Log();
      result.push_back(stats[i].value_or(NodeStats{}));
    }
    return result;
  }
};

// The same fleet on an OCI registry: the registry's own log counts what
// each node (its User-Agent) fetched.
class RegistryFleetScaleTest : public FleetScaleTest {
 protected:
  RegistryFleetScaleTest() { on_registry_ = true; }
};

TEST_F(FleetScaleTest, TwentyNodesFetchWhatTheyReadOnceAndAFineTuneCostsOnlyItsNewChunks) {
  RunFleet();
}

TEST_F(RegistryFleetScaleTest, TwentyNodesFetchWhatTheyReadOnceAndAFineTuneCostsOnlyItsNewChunks) {
  RunFleet();
}

void FleetScaleTest::RunFleet() {
  REQUIRE_FUSE();
  const int node_count = NodeCount();
  const auto test_started = std::chrono::steady_clock::now();
  ASSERT_GE(Mixes().size(), static_cast<size_t>(node_count));
  ASSERT_EQ(std::set<std::vector<size_t>>(Mixes().begin(), Mixes().end()).size(), Mixes().size())
      << "two nodes load the same mix";

  // The publisher imports the zoo and pushes it, signed.
  std::map<std::string, SourceFiles> sources;
  for (const ZooModel& model : Zoo()) {
    sources[Ref(model.name, 1)] = ModelFiles(model);
    Import(model.name, 1, sources[Ref(model.name, 1)]);
  }
  nlohmann::json pushed;
  ASSERT_TRUE(PushSigned("", pushed));
  std::cout << "[ figures  ] push of " << Zoo().size()
            << " models: " << pushed["chunks_uploaded"].get<uint64_t>() << " chunks in "
            << pushed["packs_uploaded"].get<uint64_t>() << " packs, "
            << Mib(pushed["bytes_uploaded"].get<uint64_t>()) << "\n";
  ASSERT_OK_AND_ASSIGN(auto objects, FetchVersionObjects(remote()));
  ASSERT_EQ(objects.size(), Zoo().size());

  // What each node must fetch: the distinct chunks of the files it reads;
  // and what it would fetch if each model came on its own.
  std::vector<StoredChunks> expected(node_count);
  std::vector<uint64_t> models_apart(node_count, 0);
  for (int i = 0; i < node_count; ++i) {
    for (size_t m : Mixes()[i]) {
      const std::string ref = Ref(Zoo()[m].name, 1);
      StoredChunks alone;
      for (const auto& [path, bytes] : sources.at(ref)) {
        AddChunksToRead(objects.at(ref), path, alone);
        AddChunksToRead(objects.at(ref), path, expected[i]);
      }
      models_apart[i] += TotalBytes(alone);
    }
  }

  EngineLog engine = NewEngineLog();
  const auto mount_started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<NodeDaemon>> nodes;
  for (int i = 0; i < node_count; ++i) {
    std::ostringstream name;
    name << "node" << std::setw(node_count > 100 ? 3 : 2) << std::setfill('0') << i;
    nodes.push_back(NewNode(name.str()));
  }
  std::vector<std::string> mount_errors(node_count);
  ParallelFor(node_count, 4, [&](int i) {
    // A small decoded-chunk cache: twenty daemons share this machine.
    mount_errors[i] = nodes[i]->Mount(MountCommand(*nodes[i], ",cache_size=32M"));
  });
  for (int i = 0; i < node_count; ++i) ASSERT_EQ(mount_errors[i], "") << nodes[i]->name();
  std::cout << "[ figures  ] " << node_count << " nodes mounted in " << Seconds(mount_started)
            << " s\n";

  // Each node loads its models: every file read whole, compared.
  const auto reads_started = std::chrono::steady_clock::now();
  std::vector<std::string> read_errors(node_count);
  ParallelFor(node_count, 4, [&](int i) {
    for (size_t m : Mixes()[i]) {
      const std::string& model = Zoo()[m].name;
      for (const auto& [path, bytes] : sources.at(Ref(model, 1))) {
        if (ReadFileBytes(nodes[i]->mountpoint() / model / "1" / path) != bytes) {
          read_errors[i] += model + "/1/" + path + " differs; ";
        }
      }
    }
  });
  const auto reads_done = std::chrono::system_clock::now();
  const double read_seconds = Seconds(reads_started);
  for (int i = 0; i < node_count; ++i) {
    ASSERT_EQ(read_errors[i], "") << nodes[i]->name() << "\n" << nodes[i]->Log();
  }

  std::vector<uint64_t> expected_cache(node_count);
  for (int i = 0; i < node_count; ++i) expected_cache[i] = TotalBytes(expected[i]);
  const std::vector<NodeStats> loaded = StatsAfter(nodes, reads_done, expected_cache);
  uint64_t all_expected = 0, all_requests = 0, all_bytes = 0;
  for (int i = 0; i < node_count; ++i) {
    const NodeStats& stats = loaded[i];
    const uint64_t want = expected_cache[i];
    all_expected += want;
    all_requests += stats.requests;
    all_bytes += stats.bytes_received;
    std::cout << "[ figures  ] " << nodes[i]->name() << " (" << Mixes()[i].size()
              << " models): " << stats.requests << " requests, " << stats.bytes_received
              << " bytes fetched for " << want << " bytes of " << expected[i].size()
              << " distinct chunks read (x" << std::setprecision(4)
              << static_cast<double>(stats.bytes_received) / static_cast<double>(want)
              << "); the models apart: " << models_apart[i] << " bytes\n";
    // Everything the daemon fetched in its life (catalog, version objects,
    // polls included) is within 5 % of the chunks it read...
    EXPECT_LE(static_cast<double>(stats.bytes_received), kSlack * static_cast<double>(want))
        << nodes[i]->name() << " fetched more than it read";
    // ...nothing it read is missing, and it keeps exactly those chunks.
    EXPECT_GE(stats.bytes_received, want) << nodes[i]->name();
    EXPECT_EQ(stats.cache_bytes, want) << nodes[i]->name() << " cached other chunks";
    EXPECT_EQ(stats.cache_chunks, expected[i].size()) << nodes[i]->name();
    // Two of its models share a backbone, fetched once, not once per model.
    EXPECT_LT(stats.bytes_received, models_apart[i])
        << nodes[i]->name() << " fetched a shared backbone more than once";
    EXPECT_EQ(stats.errors, 0u) << nodes[i]->name();
  }
  std::cout << "[ figures  ] " << node_count << " nodes loaded their models in " << read_seconds
            << " s: " << all_requests << " requests, " << all_bytes << " bytes fetched ("
            << Mib(all_bytes) << ") for " << all_expected << " bytes of distinct chunks read\n";
  if (engine.available()) {
    EngineTraffic served;
    std::map<std::string, uint64_t> by_agent;
    WaitFor(
        [&] {
          by_agent.clear();
          return (served = Served(engine, objects, &by_agent)).pack_bytes >= all_expected;
        },
        std::chrono::seconds(30));
    std::cout << "[ figures  ] at the engine (" << (on_registry_ ? "registry" : "radosgw")
              << " log), mounts and loads: " << served.requests << " requests, " << served.bytes
              << " bytes served; packs: " << served.pack_gets << " ranged GETs, "
              << served.pack_bytes << " bytes; version objects: " << served.version_gets
              << " GETs, " << served.version_bytes << " bytes; catalog: " << served.catalog_requests
              << " requests, " << served.catalog_bytes << " bytes\n";
    EXPECT_GE(served.pack_bytes, all_expected);
    EXPECT_LE(static_cast<double>(served.pack_bytes), kSlack * static_cast<double>(all_expected));
    // The registry names who asked: each node's share, as it counted it.
    for (int i = 0; on_registry_ && i < node_count; ++i) {
      const uint64_t want = expected_cache[i];
      const uint64_t sent = by_agent[nodes[i]->name()];
      EXPECT_GE(sent, want) << nodes[i]->name() << " per the registry's log";
      EXPECT_LE(static_cast<double>(sent), kSlack * static_cast<double>(want))
          << nodes[i]->name() << " per the registry's log";
    }
  } else {
    std::cout << "[ figures  ] no engine log: engine totals are the nodes' sums only\n";
  }

  // A fine-tune of vit-pets retrains its last backbone layer.
  const ZooModel& tuned_model = Zoo()[kTunedModel];
  const std::string tuned_ref = Ref(tuned_model.name, 2);
  sources[tuned_ref] = ModelFiles(tuned_model, kTunedLayerSeed);
  Import(tuned_model.name, 2, sources[tuned_ref]);
  engine.Restart();
  ASSERT_TRUE(PushSigned(tuned_ref, pushed));
  const auto pushed_at = std::chrono::steady_clock::now();
  std::cout << "[ figures  ] push of " << tuned_ref << ": "
            << pushed["chunks_uploaded"].get<uint64_t>() << " chunks, "
            << pushed["bytes_uploaded"].get<uint64_t>() << " bytes\n";
  ASSERT_OK_AND_ASSIGN(objects, FetchVersionObjects(remote()));
  ASSERT_TRUE(objects.contains(tuned_ref));

  // Every node shows it; then each node's counters from before its load.
  const std::string tuned_first_file = sources[tuned_ref].begin()->first;
  std::vector<double> appeared(node_count, -1);
  ASSERT_TRUE(WaitFor(
      [&] {
        bool all = true;
        for (int i = 0; i < node_count; ++i) {
          if (appeared[i] >= 0) continue;
          if (stdfs::exists(nodes[i]->mountpoint() / tuned_model.name / "2" / tuned_first_file)) {
            appeared[i] = Seconds(pushed_at);
          } else {
            all = false;
          }
        }
        return all;
      },
      kDeadline))
      << tuned_ref << " did not appear on every node";
  std::cout << "[ figures  ] " << tuned_ref << " appeared on all " << node_count << " nodes within "
            << *std::max_element(appeared.begin(), appeared.end()) << " s of its push\n";
  std::vector<uint64_t> cached_now(node_count);
  for (int i = 0; i < node_count; ++i) cached_now[i] = loaded[i].cache_bytes;
  const std::vector<NodeStats> before_tune =
      StatsAfter(nodes, std::chrono::system_clock::now(), cached_now);

  // The nodes that load vit-pets load version 2; they need only what they
  // do not hold yet.
  std::vector<int> loaders;
  std::vector<StoredChunks> fresh(node_count);
  std::vector<uint64_t> expected_after = cached_now;
  for (int i = 0; i < node_count; ++i) {
    const auto& mix = Mixes()[i];
    if (std::find(mix.begin(), mix.end(), kTunedModel) == mix.end()) continue;
    loaders.push_back(i);
    StoredChunks wanted;
    for (const auto& [path, bytes] : sources[tuned_ref]) {
      AddChunksToRead(objects.at(tuned_ref), path, wanted);
    }
    for (const auto& [chunk, length] : wanted) {
      if (!expected[i].contains(chunk)) fresh[i].emplace(chunk, length);
    }
    ASSERT_FALSE(fresh[i].empty()) << "the fine-tune brought no new chunk";
    expected_after[i] += TotalBytes(fresh[i]);
  }
  ASSERT_GE(loaders.size(), 3u);
  std::vector<std::string> tuned_errors(node_count);
  ParallelFor(static_cast<int>(loaders.size()), 4, [&](int k) {
    const int i = loaders[k];
    for (const auto& [path, bytes] : sources[tuned_ref]) {
      if (ReadFileBytes(nodes[i]->mountpoint() / tuned_model.name / "2" / path) != bytes) {
        tuned_errors[i] += path + " differs; ";
      }
    }
  });
  const auto tuned_read = std::chrono::system_clock::now();
  for (int i : loaders) ASSERT_EQ(tuned_errors[i], "") << nodes[i]->name();
  const std::vector<NodeStats> after_tune = StatsAfter(nodes, tuned_read, expected_after);

  uint64_t fresh_total = 0;
  for (int i = 0; i < node_count; ++i) {
    const uint64_t fetched = after_tune[i].bytes_received - before_tune[i].bytes_received;
    const uint64_t requests = after_tune[i].requests - before_tune[i].requests;
    const uint64_t new_chunks = after_tune[i].cache_chunks - before_tune[i].cache_chunks;
    const uint64_t want = TotalBytes(fresh[i]);
    fresh_total += want;
    std::cout << "[ figures  ] " << nodes[i]->name()
              << " after the fine-tune: " << (want > 0 ? "loaded it: " : "does not load it: ")
              << requests << " requests, " << fetched << " bytes fetched (catalog polls included), "
              << new_chunks << " new chunks cached; its new chunks: " << fresh[i].size() << ", "
              << want << " bytes\n";
    // Only the new chunks: those it lacked, each once, nothing else cached.
    EXPECT_EQ(after_tune[i].cache_bytes, expected_after[i]) << nodes[i]->name();
    EXPECT_EQ(new_chunks, fresh[i].size()) << nodes[i]->name();
    if (want > 0) {
      EXPECT_GE(fetched, want) << nodes[i]->name();
      EXPECT_LE(static_cast<double>(fetched), kSlack * static_cast<double>(want))
          << nodes[i]->name() << " fetched more than the fine-tune's new chunks";
    }
  }
  if (engine.available()) {
    EngineTraffic served;
    WaitFor([&] { return (served = Served(engine, objects)).pack_bytes >= fresh_total; },
            std::chrono::seconds(30));
    std::cout << "[ figures  ] at the engine, the fine-tune's push and loads: " << served.requests
              << " requests (" << served.writes << " writes), " << served.bytes
              << " bytes served; packs: " << served.pack_gets << " ranged GETs, "
              << served.pack_bytes << " bytes for " << loaders.size() << " loaders x "
              << TotalBytes(fresh[loaders.front()]) << " new bytes\n";
    EXPECT_GE(served.pack_bytes, fresh_total);
    EXPECT_LE(static_cast<double>(served.pack_bytes), kSlack * static_cast<double>(fresh_total));
  }
  uint64_t total_requests = 0, total_bytes = 0;
  for (const NodeStats& stats : after_tune) {
    total_requests += stats.requests;
    total_bytes += stats.bytes_received;
  }
  std::cout << "[ figures  ] total at the engine, the " << node_count
            << " nodes' sum: " << total_requests << " requests, " << total_bytes << " bytes ("
            << Mib(total_bytes) << "); test ran " << Seconds(test_started) << " s\n";
}

}  // namespace
}  // namespace re2po::testing
