#include "store/remote/aws_credentials.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <vector>

namespace re2po {
namespace {

using Getenv = std::function<std::optional<std::string>(const std::string&)>;
using IniSection = std::map<std::string, std::string>;

constexpr std::string_view kDefaultRegion = "us-east-1";

std::optional<std::string> ProcessGetenv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// An unset and an empty variable mean the same to AWS tools.
std::optional<std::string> NonEmpty(const Getenv& getenv, const std::string& name) {
  std::optional<std::string> value = getenv(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// The keys of one [section] of an AWS INI file; nullopt when the section is
// absent. Indented lines belong to a nested block (`s3 =` followed by
// indented settings) and are skipped, so they never pass for top-level keys.
std::optional<IniSection> ReadIniSection(const std::string& text, std::string_view section) {
  std::istringstream lines(text);
  std::string line;
  std::optional<IniSection> found;
  bool inside = false;
  while (std::getline(lines, line)) {
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) continue;
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == ';') continue;
    if (trimmed.front() == '[' && trimmed.back() == ']') {
      inside = Trim(trimmed.substr(1, trimmed.size() - 2)) == section;
      if (inside && !found) found.emplace();
      continue;
    }
    const auto equals = trimmed.find('=');
    if (!inside || equals == std::string_view::npos) continue;
    (*found)[std::string(Trim(trimmed.substr(0, equals)))] =
        std::string(Trim(trimmed.substr(equals + 1)));
  }
  return found;
}

struct IniFile {
  std::filesystem::path path;
  std::optional<std::string> text;  // nullopt: the file does not exist
};

Result<IniFile> ReadIniFile(std::filesystem::path path) {
  IniFile file{std::move(path), std::nullopt};
  std::error_code error;
  if (file.path.empty() || !std::filesystem::exists(file.path, error)) return file;
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return Status::IOError("cannot read AWS settings file " + file.path.string());
  std::ostringstream text;
  text << in.rdbuf();
  file.text = text.str();
  return file;
}

// HOME, else the passwd entry's home, as Python's expanduser("~") (which
// botocore uses) does: a service started without HOME still finds root's
// files, and never ./.aws in whatever directory it runs.
std::filesystem::path HomeDirectory(const Getenv& getenv) {
  if (auto home = NonEmpty(getenv, "HOME")) return *home;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_dir != nullptr) {
    return found->pw_dir;
  }
  return {};
}

// Empty when there is nowhere to look.
std::filesystem::path AwsFilePath(const Getenv& getenv, const std::string& override_variable,
                                  std::string_view file_name) {
  if (auto path = NonEmpty(getenv, override_variable)) return *path;
  const std::filesystem::path home = HomeDirectory(getenv);
  if (home.empty()) return {};
  return home / ".aws" / file_name;
}

std::optional<IniSection> Section(const IniFile& file, std::string_view section) {
  if (!file.text) return std::nullopt;
  return ReadIniSection(*file.text, section);
}

std::string Value(const std::optional<IniSection>& section, const std::string& key) {
  if (!section) return {};
  auto it = section->find(key);
  return it == section->end() ? std::string() : it->second;
}

Status CheckPair(const AwsCredentials& credentials, std::string_view where) {
  if (credentials.access_key_id.empty() == credentials.secret_access_key.empty()) {
    return Status::Ok();
  }
  return Status::InvalidArgument(
      std::string(where) + " sets " +
      (credentials.access_key_id.empty() ? "a secret access key" : "an access key id") +
      " without the other half of the pair");
}

AwsCredentials CredentialsOf(const std::optional<IniSection>& section) {
  return {Value(section, "aws_access_key_id"), Value(section, "aws_secret_access_key"),
          Value(section, "aws_session_token")};
}

struct Profile {
  std::string name;
  bool named_explicitly = false;
  std::optional<IniSection> credentials;  // from the credentials file
  std::optional<IniSection> config;       // from the config file
  IniFile credentials_file;
  IniFile config_file;
};

Result<Profile> LoadProfile(const Getenv& getenv) {
  Profile profile;
  std::optional<std::string> named = NonEmpty(getenv, "AWS_PROFILE");
  profile.named_explicitly = named.has_value();
  profile.name = named.value_or("default");
  ASSIGN_OR_RETURN(profile.credentials_file,
                   ReadIniFile(AwsFilePath(getenv, "AWS_SHARED_CREDENTIALS_FILE", "credentials")));
  ASSIGN_OR_RETURN(profile.config_file,
                   ReadIniFile(AwsFilePath(getenv, "AWS_CONFIG_FILE", "config")));
  profile.credentials = Section(profile.credentials_file, profile.name);
  // The config file names every profile but the default "profile X".
  profile.config =
      Section(profile.config_file,
              profile.name == "default" ? std::string("default") : "profile " + profile.name);
  if (profile.named_explicitly && !profile.credentials && !profile.config) {
    return Status::InvalidArgument("AWS_PROFILE names profile '" + profile.name +
                                   "', which neither " + profile.credentials_file.path.string() +
                                   " nor " + profile.config_file.path.string() + " defines");
  }
  return profile;
}

Result<AwsCredentials> ResolveCredentials(const Getenv& getenv, const Profile& profile,
                                          std::string& source) {
  AwsCredentials from_env{NonEmpty(getenv, "AWS_ACCESS_KEY_ID").value_or(""),
                          NonEmpty(getenv, "AWS_SECRET_ACCESS_KEY").value_or(""),
                          NonEmpty(getenv, "AWS_SESSION_TOKEN").value_or("")};
  RETURN_IF_ERROR(CheckPair(from_env, "the environment"));
  if (!from_env.anonymous()) {
    source = "environment";
    return from_env;
  }
  const std::pair<const std::optional<IniSection>*, const IniFile*> files[] = {
      {&profile.credentials, &profile.credentials_file}, {&profile.config, &profile.config_file}};
  for (const auto& [section, file] : files) {
    AwsCredentials found = CredentialsOf(*section);
    const std::string where = "profile " + profile.name + " in " + file->path.string();
    RETURN_IF_ERROR(CheckPair(found, where));
    if (!found.anonymous()) {
      source = where;
      return found;
    }
  }
  source = "none (anonymous)";
  return AwsCredentials{};
}

std::string ResolveRegion(const Getenv& getenv, const Profile& profile) {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto region = NonEmpty(getenv, name)) return *region;
  }
  std::string region = Value(profile.config, "region");
  return region.empty() ? std::string(kDefaultRegion) : region;
}

std::string ResolveEndpoint(const AwsSettingsOptions& options, const Getenv& getenv,
                            const Profile& profile, const std::string& region) {
  if (!options.endpoint.empty()) return options.endpoint;
  for (const char* name : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    if (auto endpoint = NonEmpty(getenv, name)) return *endpoint;
  }
  std::string endpoint = Value(profile.config, "endpoint_url");
  return endpoint.empty() ? "https://s3." + region + ".amazonaws.com" : endpoint;
}

}  // namespace

Result<AwsSettings> LoadAwsSettings(const AwsSettingsOptions& options) {
  const Getenv getenv = options.getenv ? options.getenv : Getenv(ProcessGetenv);
  ASSIGN_OR_RETURN(Profile profile, LoadProfile(getenv));
  AwsSettings settings;
  ASSIGN_OR_RETURN(settings.credentials,
                   ResolveCredentials(getenv, profile, settings.credential_source));
  settings.region = ResolveRegion(getenv, profile);
  settings.endpoint = ResolveEndpoint(options, getenv, profile, settings.region);
  return settings;
}

}  // namespace re2po
