// Every re2po subcommand has one shape: an Args struct holding what its
// command line says, a Run function doing the work from the global options
// and the Args (its errors returned, printed once by main), and a Register
// function that only declares the subcommand's arguments and binds them to
// the Args. main.cc composes the Register functions.
#pragma once

#include <string>
#include <vector>

#include "tools/re2po/cli.h"
#include "tools/re2po/remotes.h"

namespace re2po::cli {

struct InitArgs {};
Status RunInit(const GlobalOptions& global, const InitArgs& args);
void RegisterInit(CLI::App& app, CommandFn& chosen);

struct ImportArgs {
  std::string target;  // MODEL or MODEL@VERSION
  std::string path;
  std::vector<std::string> labels;  // key=value
  bool generic_only = false;
  bool no_delta = false;
  std::string from;     // MODEL[@VERSION] it was derived from
  std::string protect;  // the keyring key to seal it with; empty: open
  int zstd_level = 1;
  bool json = false;
};
Status RunImport(const GlobalOptions& global, const ImportArgs& args);
void RegisterImport(CLI::App& app, CommandFn& chosen);

struct KeyringCreateArgs {
  std::string path;
};
struct KeyringAddArgs {
  std::string path;
  std::string name;
};
struct KeyringListArgs {
  std::string path;
  bool json = false;
};
struct KeyringExportArgs {
  std::string path;
  std::vector<std::string> names;
  std::string out;
};
Status RunKeyringCreate(const GlobalOptions& global, const KeyringCreateArgs& args);
Status RunKeyringAdd(const GlobalOptions& global, const KeyringAddArgs& args);
Status RunKeyringList(const GlobalOptions& global, const KeyringListArgs& args);
Status RunKeyringExport(const GlobalOptions& global, const KeyringExportArgs& args);
void RegisterKeyring(CLI::App& app, CommandFn& chosen);

struct ListArgs {
  std::string model;  // empty: list the models
  bool json = false;
};
Status RunList(const GlobalOptions& global, const ListArgs& args);
void RegisterList(CLI::App& app, CommandFn& chosen);

struct ShowArgs {
  std::string ref;
  bool tensors = false;
  bool json = false;
};
Status RunShow(const GlobalOptions& global, const ShowArgs& args);
void RegisterShow(CLI::App& app, CommandFn& chosen);

struct AccessSetArgs {
  std::string model;
  std::string owner;  // empty: keep
  std::string group;
  std::string mode;
  bool hidden = false;
  bool listed = false;
  bool json = false;
};
struct AccessShowArgs {
  std::string model;
  bool json = false;
};
Status RunAccessSet(const GlobalOptions& global, const AccessSetArgs& args);
Status RunAccessShow(const GlobalOptions& global, const AccessShowArgs& args);
Status RunAccessReset(const GlobalOptions& global, const AccessShowArgs& args);
void RegisterAccess(CLI::App& app, CommandFn& chosen);

struct LogArgs {
  std::string model;
  bool json = false;
};
Status RunLog(const GlobalOptions& global, const LogArgs& args);
void RegisterLog(CLI::App& app, CommandFn& chosen);

struct SignArgs {
  std::string ref;
  std::string key;
};
Status RunSign(const GlobalOptions& global, const SignArgs& args);
void RegisterSign(CLI::App& app, CommandFn& chosen);

struct ExportArgs {
  std::string ref;
  std::string dir;
};
Status RunExport(const GlobalOptions& global, const ExportArgs& args);
void RegisterExport(CLI::App& app, CommandFn& chosen);

struct CatArgs {
  std::string ref;
  std::string path;
};
Status RunCat(const GlobalOptions& global, const CatArgs& args);
void RegisterCat(CLI::App& app, CommandFn& chosen);

struct RemoveArgs {
  std::string ref;
};
Status RunRemove(const GlobalOptions& global, const RemoveArgs& args);
void RegisterRemove(CLI::App& app, CommandFn& chosen);

struct GcArgs {
  bool json = false;
};
Status RunGc(const GlobalOptions& global, const GcArgs& args);
void RegisterGc(CLI::App& app, CommandFn& chosen);

struct VerifyArgs {
  bool json = false;
  std::string ref;    // set: check this version's signature instead of the store
  std::string trust;  // the public key it must be signed with
};
// Fails (AlreadyReported) when the store is damaged.
Status RunVerify(const GlobalOptions& global, const VerifyArgs& args);
void RegisterVerify(CLI::App& app, CommandFn& chosen);

struct StatsArgs {
  bool json = false;
};
Status RunStats(const GlobalOptions& global, const StatsArgs& args);
void RegisterStats(CLI::App& app, CommandFn& chosen);

struct DiffArgs {
  std::string a, b;  // MODEL@VERSION, or MODEL for its latest
  bool json = false;
  bool all = false;     // also list the shared items
  bool stored = false;  // say how changed and added tensors are stored
};
Status RunDiff(const GlobalOptions& global, const DiffArgs& args);
void RegisterDiff(CLI::App& app, CommandFn& chosen);

// How a node reaches a remote and where it caches it (mount, pull).
struct NodeArgs {
  std::string cache_dir;
  std::string trust;
  std::string endpoint;
};
void AddNodeOptions(CLI::App& command, NodeArgs& node);

struct MountArgs {
  std::string mountpoint;
  std::string remote;  // empty: the store
  NodeArgs node;
  std::vector<std::string> options;  // each comma-separated
  bool foreground = false;
};
Status RunMount(const GlobalOptions& global, const MountArgs& args);
void RegisterMount(CLI::App& app, CommandFn& chosen);

struct KeyGenerateArgs {
  std::string path;
};
Status RunKeyGenerate(const GlobalOptions& global, const KeyGenerateArgs& args);
void RegisterKey(CLI::App& app, CommandFn& chosen);

struct RemoteAddArgs {
  std::string name;
  std::string url;
  RemoteConfig config;  // its url is `url`
  bool replace = false;
};
struct RemoteListArgs {
  bool json = false;
};
struct RemoteRemoveArgs {
  std::string name;
};
Status RunRemoteAdd(const GlobalOptions& global, const RemoteAddArgs& args);
Status RunRemoteList(const GlobalOptions& global, const RemoteListArgs& args);
Status RunRemoteRemove(const GlobalOptions& global, const RemoteRemoveArgs& args);
void RegisterRemote(CLI::App& app, CommandFn& chosen);

struct PushArgs {
  std::string remote;
  std::vector<std::string> refs;  // MODEL or MODEL@VERSION; empty: every version
  std::string key;
  std::string endpoint;
  bool json = false;
};
Status RunPush(const GlobalOptions& global, const PushArgs& args);
void RegisterPush(CLI::App& app, CommandFn& chosen);

struct PullArgs {
  std::string remote;
  std::vector<std::string> refs;
  NodeArgs node;
};
Status RunPull(const GlobalOptions& global, const PullArgs& args);
void RegisterPull(CLI::App& app, CommandFn& chosen);

struct CacheArgs {
  std::string remote;  // or cache_dir
  std::string cache_dir;
  bool json = false;
};
Status RunCacheStats(const GlobalOptions& global, const CacheArgs& args);
Status RunCacheClear(const GlobalOptions& global, const CacheArgs& args);
void RegisterCache(CLI::App& app, CommandFn& chosen);

// Reads the mount's access logs back (docs/operations.md, "Access log").
struct AccessLogArgs {
  std::string ref;    // MODEL or MODEL@VERSION; empty: every model
  std::string since;  // a duration back from now: 90s, 15m, 1h, 2d
  std::string file;   // empty: <store>/access/access.jsonl
  bool json = false;  // the records as JSON lines
};
Status RunAccessLog(const GlobalOptions& global, const AccessLogArgs& args);
void RegisterAccessLog(CLI::App& app, CommandFn& chosen);

// A live view of a mount from its metrics endpoint.
struct TopArgs {
  std::string mountpoint;
  std::string metrics;  // HOST:PORT or a socket path; else found from the mountpoint
  bool once = false;    // one plain sample (also when stdout is not a terminal)
  size_t models = 5;    // the most-opened models shown
};
Status RunTop(const GlobalOptions& global, const TopArgs& args);
void RegisterTop(CLI::App& app, CommandFn& chosen);

}  // namespace re2po::cli
